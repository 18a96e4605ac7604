using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// SASLprep (RFC 4013), the string preparation SCRAM (RFC 5802 §2.2) and PLAIN (RFC 4616 §2) apply
/// to user names and passwords, for stored strings (unassigned code points are refused).
/// Limits: the NFKC step (RFC 4013 §2.2) and the bidirectional check (§2.4, RFC 3454 §6) are not
/// performed, so a non-ASCII password must reach the server in the same normalization form it was set
/// in (clients overwhelmingly send NFC). ASCII strings, the common case, are prepared completely:
/// printable ASCII passes unchanged and control characters are refused.
/// </summary>
public static class SaslPrep
{
    /// <exception cref="ArgumentException">A prohibited or unassigned character, or an empty result.</exception>
    public static string Prepare(string value, string what)
    {
        if (IsPrintableAscii(value)) return value;
        var sb = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out int used) != System.Buffers.OperationStatus.Done)
                throw new ArgumentException($"{what} contains an unpaired surrogate");   // RFC 3454 C.5
            i += used;
            int c = rune.Value;
            if (IsNonAsciiSpace(c)) { sb.Append(' '); continue; }            // RFC 4013 §2.1, C.1.2 → SPACE
            if (IsMappedToNothing(c)) continue;                               // RFC 4013 §2.1, B.1
            if (IsProhibited(c)) throw new ArgumentException($"{what} contains a prohibited character (U+{c:X4})");
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.OtherNotAssigned)   // RFC 4013 §2.5
                throw new ArgumentException($"{what} contains an unassigned character (U+{c:X4})");
            sb.Append(rune.ToString());
        }
        if (sb.Length == 0) throw new ArgumentException($"{what} is empty after SASLprep");
        return sb.ToString();
    }

    private static bool IsPrintableAscii(string s)
    {
        if (s.Length == 0) return false;
        foreach (char ch in s) if (ch < 0x20 || ch > 0x7e) return false;
        return true;
    }

    // RFC 3454 C.1.2
    private static bool IsNonAsciiSpace(int c) =>
        c is 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200B) or 0x202F or 0x205F or 0x3000;

    // RFC 3454 B.1
    private static bool IsMappedToNothing(int c) =>
        c is 0x00AD or 0x034F or 0x1806 or (>= 0x180B and <= 0x180D) or 0x200C or 0x200D or 0x2060
          or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF;

    // RFC 4013 §2.3: C.2.1, C.2.2, C.3, C.4, C.5 (handled by the decoder), C.6, C.7, C.8, C.9.
    private static bool IsProhibited(int c) =>
        c < 0x20 || c == 0x7F                                                  // C.2.1
        || (c >= 0x80 && c <= 0x9F) || c is 0x06DD or 0x070F or 0x180E
        || c is 0x2028 or 0x2029 || (c >= 0x2061 && c <= 0x2063)
        || (c >= 0xFFF9 && c <= 0xFFFC) || (c >= 0x1D173 && c <= 0x1D17A)      // C.2.2
        || (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD)
        || (c >= 0x100000 && c <= 0x10FFFD)                                    // C.3
        || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE              // C.4
        || c == 0xFFFD                                                         // C.6
        || (c >= 0x2FF0 && c <= 0x2FFB)                                        // C.7
        || c is 0x0340 or 0x0341 or 0x200E or 0x200F or (>= 0x202A and <= 0x202E)
        || (c >= 0x206A && c <= 0x206F)                                        // C.8
        || c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F);                    // C.9
}
