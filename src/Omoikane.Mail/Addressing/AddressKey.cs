using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Addressing;

/// <summary>
/// The one canonical form of an address, used wherever two addresses are compared: access-table keys,
/// alias keys, the user store, recipient resolution and Maildir names. Two spellings are the same
/// address exactly when their keys are equal.
/// <list type="bullet">
/// <item>Local part: Unicode NFKC, then lower case (invariant, full strings so that characters outside the
/// BMP fold too), then NFKC again. So U+212A KELVIN SIGN is "k", fullwidth "ｋａｔｅ" is "kate", and NFD
/// "a" + U+0308 is "ä". ASCII is simply lower-cased, as before.</item>
/// <item>Domain: an address literal is lower-cased; a name is lower-cased, and a name with non-ASCII
/// characters is converted to its IDNA A-label form (UTS #46 mapping), so "Bücher.Example" and
/// "xn--bcher-kva.example" are one domain. A name IDNA refuses keeps the local-part folding.</item>
/// </list>
/// Trailing dots are the caller's business (<see cref="Domain"/> strips one from an address's domain).
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
        try
        {
            return local.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return local.ToLowerInvariant(); // not valid UTF-16 (a lone surrogate): no normalization possible
        }
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
        try
        {
            return Idn.GetAscii(domain).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return Local(domain);
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
