using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Logging;

/// <summary>
/// What a maillog line may hold. Every line passes through <see cref="Printable"/> on its way out, so a
/// value taken from outside (HELO name, addresses, SASL and POP3 user names, remote replies, DNS text)
/// can neither add a line nor carry terminal escapes into the log.
/// </summary>
public static class LogText
{
    /// <summary>Longest user name written in a Dovecot-style field (Dovecot's str_sanitize(user, 80)).</summary>
    public const int DovecotUserLimit = 80;

    /// <summary>
    /// Postfix's printable(s, '?') as msg_output applies it to every logged message: ASCII controls
    /// (CR, LF, NUL, ESC, TAB, ...), DEL, C1 controls (such as U+009B, the one-byte CSI) and what was not
    /// valid UTF-8 (decoded as U+FFFD) become '?'; valid UTF-8 text stays. Beyond Postfix, Unicode format
    /// and separator characters (bidirectional overrides, U+2028) become '?' too: they reorder or split
    /// a line on the screen of whoever reads the log.
    /// </summary>
    public static string Printable(string text)
    {
        int i = 0;
        while (i < text.Length && IsPlainAscii(text[i])) i++;
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, i);
        while (i < text.Length)
        {
            var c = text[i];
            if (IsPlainAscii(c)) { sb.Append(c); i++; continue; }
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var pairCategory = CharUnicodeInfo.GetUnicodeCategory(text, i);
                if (IsShown(pairCategory)) sb.Append(c).Append(text[i + 1]); else sb.Append('?');
                i += 2;
                continue;
            }
            sb.Append(c != '\uFFFD' && IsShown(CharUnicodeInfo.GetUnicodeCategory(c)) ? c : '?');
            i++;
        }
        return sb.ToString();
    }

    /// <summary>
    /// A value for a Dovecot-style "user=&lt;...&gt;" or "method=..." field: printable, at most
    /// <see cref="DovecotUserLimit"/> characters (then "..."), as Dovecot's str_sanitize; and '&lt;', '&gt;',
    /// ',' and spaces become '?', so a name such as "x&gt;, rip=192.0.2.9" cannot close the field and
    /// add a rip= that fail2ban's dovecot filter would read.
    /// </summary>
    public static string DovecotField(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var s = Printable(value);
        if (s.Length > DovecotUserLimit)
        {
            var cut = DovecotUserLimit;
            if (char.IsLowSurrogate(s[cut])) cut--;
            s = s[..cut] + "...";
        }
        if (s.AsSpan().IndexOfAny("<>, ") < 0) return s;
        return string.Create(s.Length, s, static (span, src) =>
        {
            for (int j = 0; j < src.Length; j++) span[j] = src[j] is '<' or '>' or ',' or ' ' ? '?' : src[j];
        });
    }

    private static bool IsPlainAscii(char c) => c is >= ' ' and < '\x7f';

    private static bool IsShown(UnicodeCategory category) => category is not (UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate);
}
