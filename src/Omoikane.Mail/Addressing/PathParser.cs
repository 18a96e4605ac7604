using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Mail.Addressing;

public enum PathError { None, Syntax, BadDomain, TooLong, NonAscii }

/// <summary>One ESMTP parameter of MAIL/RCPT ("SIZE=1000", "BODY=8BITMIME", "SMTPUTF8").</summary>
public readonly record struct EsmtpParameter(string Keyword, string? Value);

/// <summary>
/// Parses the argument of MAIL FROM: and RCPT TO: (RFC 5321 §4.1.2): "&lt;path&gt; params".
/// Source routes ("@a,@b:user@c") are accepted and discarded (§4.1.1.3, Appendix C). Like Postfix
/// (strict_rfc821_envelopes = no) a path without angle brackets is accepted.
/// </summary>
public static class PathParser
{
    public const int MaxLocalPart = 64;   // RFC 5321 §4.5.3.1.1
    public const int MaxDomain = 255;     // §4.5.3.1.2
    public const int MaxPath = 256;       // §4.5.3.1.3

    public static PathError TryParse(string argument, bool allowNull, bool utf8, out MailAddress address, out List<EsmtpParameter> parameters)
    {
        address = MailAddress.Null;
        parameters = new List<EsmtpParameter>();
        var s = argument.TrimStart();
        string pathText; string rest;
        if (s.StartsWith('<'))
        {
            // Find the closing '>' outside a quoted string.
            int i = 1; bool inQuote = false;
            for (; i < s.Length; i++)
            {
                var c = s[i];
                if (inQuote)
                {
                    if (c == '\\' && i + 1 < s.Length) { i++; continue; }
                    if (c == '"') inQuote = false;
                }
                else if (c == '"') inQuote = true;
                else if (c == '>') break;
            }
            if (i >= s.Length) return PathError.Syntax;
            pathText = s[1..i];
            rest = s[(i + 1)..];
            if (rest.Length > 0 && rest[0] != ' ') return PathError.Syntax;
        }
        else
        {
            var sp = s.IndexOf(' ');
            pathText = sp < 0 ? s : s[..sp];
            rest = sp < 0 ? "" : s[sp..];
            if (pathText.Length == 0) return PathError.Syntax;
        }
        foreach (var tok in rest.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = tok.IndexOf('=');
            var kw = eq < 0 ? tok : tok[..eq];
            if (kw.Length == 0 || !kw.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return PathError.Syntax;
            parameters.Add(new EsmtpParameter(kw.ToUpperInvariant(), eq < 0 ? null : tok[(eq + 1)..]));
        }
        if (pathText.Length == 0)
        {
            if (!allowNull) return PathError.Syntax;
            address = MailAddress.Null;
            return PathError.None;
        }
        if (Encoding.UTF8.GetByteCount(pathText) > MaxPath) return PathError.TooLong;
        // U+FFFD stands for bytes that were not UTF-8 (RFC 6531 §3.3 requires valid UTF-8): never an address.
        if (pathText.Contains('\uFFFD')) return PathError.Syntax;
        return ParseMailbox(pathText, utf8, out address);
    }

    /// <summary>Parses "[@route,...:]local@domain" or a bare "postmaster".</summary>
    public static PathError ParseMailbox(string text, bool utf8, out MailAddress address)
    {
        address = MailAddress.Null;
        string? route = null;
        if (text.StartsWith('@'))
        {
            var colon = text.IndexOf(':');
            if (colon < 0) return PathError.Syntax;
            route = text[..colon];
            foreach (var hop in route.Split(','))
                if (hop.Length < 2 || hop[0] != '@' || !IsValidDomain(hop[1..], utf8)) return PathError.Syntax;
            text = text[(colon + 1)..];
        }
        if (!utf8 && text.Any(c => c >= 0x80)) return PathError.NonAscii;
        string local; int at;
        if (text.StartsWith('"'))
        {
            var sb = new StringBuilder();
            int i = 1;
            for (; i < text.Length; i++)
            {
                var c = text[i];
                if (c == '\\')
                {
                    if (i + 1 >= text.Length) return PathError.Syntax;
                    var n = text[++i];
                    if (n < 32 || n == 127) return PathError.Syntax; // quoted-pairSMTP: %d32-126
                    sb.Append(n);
                    continue;
                }
                if (c == '"') break;
                if (c < 32 || c == 127) return PathError.Syntax; // qtextSMTP
                sb.Append(c);
            }
            if (i >= text.Length) return PathError.Syntax;
            local = sb.ToString();
            at = i + 1;
            if (at >= text.Length)
            {
                // A quoted local part must be followed by @domain (only bare "postmaster" may stand alone).
                return PathError.Syntax;
            }
            if (text[at] != '@') return PathError.Syntax;
        }
        else
        {
            at = text.LastIndexOf('@');
            if (at < 0)
            {
                if (route is null && text.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
                {
                    address = new MailAddress(text, "");
                    return PathError.None;
                }
                return PathError.Syntax;
            }
            local = text[..at];
            if (!MailAddress.IsDotAtom(local)) return PathError.Syntax;
        }
        if (Encoding.UTF8.GetByteCount(local) > MaxLocalPart) return PathError.TooLong;
        var domain = text[(at + 1)..];
        if (domain.Length == 0) return PathError.BadDomain;
        if (domain.StartsWith('['))
        {
            if (!IsValidAddressLiteral(domain)) return PathError.BadDomain;
        }
        else if (!IsValidDomain(domain, utf8)) return PathError.BadDomain;
        if (Encoding.UTF8.GetByteCount(domain) > MaxDomain) return PathError.TooLong;
        address = new MailAddress(local, domain, route);
        return PathError.None;
    }

    /// <summary>RFC 5321 Domain: sub-domains of letters, digits, hyphens (not at the ends); one trailing dot tolerated as Postfix does.</summary>
    public static bool IsValidDomain(string domain, bool utf8)
    {
        var d = domain.EndsWith('.') ? domain[..^1] : domain;
        if (d.Length == 0 || d.Length > MaxDomain) return false;
        foreach (var label in d.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63) return false;
            if (label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || (utf8 && c >= 0x80 && !char.IsWhiteSpace(c))))
                    return false;
        }
        return true;
    }

    /// <summary>"[192.0.2.1]", "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3).</summary>
    public static bool IsValidAddressLiteral(string literal)
    {
        if (literal.Length < 3 || literal[0] != '[' || literal[^1] != ']') return false;
        var inner = literal[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return IPAddress.TryParse(inner[5..], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        return IPAddress.TryParse(inner, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork
               && inner.Count(c => c == '.') == 3;
    }
}
