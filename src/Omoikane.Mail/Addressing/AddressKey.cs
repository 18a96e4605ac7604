using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Addressing;

/// <summary>
/// The one canonical form of an address, used wherever two addresses are compared: access-table keys,
/// alias keys, the user store, recipient resolution and Maildir names. Two spellings are the same
/// address exactly when their keys are equal.
/// <list type="bullet">
/// <item>Local part: fullwidth forms (U+FF01..U+FF5E, U+3000) become their ASCII counterparts, then the
/// whole string is lower-cased with the invariant simple case mapping (full strings, so characters
/// outside the BMP fold too). So U+212A KELVIN SIGN is "k", U+212B ANGSTROM SIGN is "å", fullwidth
/// "ｋａｔｅ" is "kate". ASCII is simply lower-cased, as before. There is no Unicode normalization: the
/// server runs without ICU (invariant globalization), and a composition done in one place and not in
/// another would be the very split this type exists to prevent; NFD "a"+U+0308 and NFC "ä" are two
/// addresses, the same two in every table.</item>
/// <item>Domain: an address literal is lower-cased; a name is folded as a local part (the ideographic
/// and fullwidth full stops become "."), and a name with non-ASCII characters then takes its
/// punycode A-label form, so "Bücher.Example" and "xn--bcher-kva.example" are one domain.</item>
/// </list>
/// Trailing dots are the caller's business (<see cref="Domain"/> strips those of an address's domain).
/// </summary>
public static class AddressKey
{
    private static readonly IdnMapping Idn = new();

    /// <summary>Compares table keys, user names and addresses by their canonical form.</summary>
    public static IEqualityComparer<string> Comparer { get; } = new KeyComparer();

    /// <summary>The key of a whole address "local@domain" (split at the last "@"), or of a bare local part or domain.</summary>
    public static string Of(string address)
    {
        if (Ascii.IsValid(address)) return address.ToLowerInvariant();
        int at = address.LastIndexOf('@');
        if (at < 0) return Bare(address);
        return Local(address[..at]) + "@" + FoldDomain(address[(at + 1)..]);
    }

    /// <summary>The key of a local part.</summary>
    public static string Local(string local)
    {
        if (Ascii.IsValid(local)) return local.ToLowerInvariant();
        return WidthFold(local, dots: false).ToLowerInvariant();
    }

    /// <summary>Fullwidth ASCII variants to ASCII; in domains also the full stops IDNA takes as label separators.</summary>
    private static string WidthFold(string s, bool dots)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0),
                '\u3000' => ' ',
                '\u3002' or '\uFF61' when dots => '.',
                _ => c,
            });
        return sb.ToString();
    }

    /// <summary>The key of an address's domain: trailing dot removed, then folded.</summary>
    public static string Domain(string domain) => FoldDomain(domain.EndsWith('.') ? domain.TrimEnd('.') : domain);

    /// <summary>The key of a whole address with the domain's trailing dot removed.</summary>
    public static string Of(string local, string domain)
        => domain.Length == 0 ? Local(local) : Local(local) + "@" + Domain(domain);

    private static string FoldDomain(string domain)
    {
        if (Ascii.IsValid(domain)) return domain.ToLowerInvariant();
        if (domain.StartsWith('[')) return domain.ToLowerInvariant();
        if (domain.StartsWith('.')) return "." + FoldDomain(domain[1..]);   // ".example.com" list entries
        var folded = WidthFold(domain, dots: true).ToLowerInvariant();
        if (Ascii.IsValid(folded)) return folded;
        try
        {
            return Idn.GetAscii(folded).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return folded; // not a valid IDN (an empty label, say): the folded name itself
        }
    }

    // A key without "@": a domain, a host name or a bare local part. IDNA where it applies, so that a
    // table key written in either form matches; else the local-part folding.
    private static string Bare(string key) => key.Length == 0 ? key : FoldDomain(key);

    private sealed class KeyComparer : IEqualityComparer<string>
    {
        public bool Equals(string? x, string? y)
        {
            if (ReferenceEquals(x, y)) return true;
            if (x is null || y is null) return false;
            if (Ascii.IsValid(x) && Ascii.IsValid(y)) return string.Equals(x, y, StringComparison.OrdinalIgnoreCase);
            return string.Equals(Of(x), Of(y), StringComparison.Ordinal);
        }

        // The key is lower case, so an ASCII string hashes as its key does under OrdinalIgnoreCase.
        public int GetHashCode(string s)
            => StringComparer.OrdinalIgnoreCase.GetHashCode(Ascii.IsValid(s) ? s : Of(s));
    }
}
