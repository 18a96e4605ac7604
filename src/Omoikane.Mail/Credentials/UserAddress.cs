using Omoikane.Mail.Addressing;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// Login names: users are virtual and log in with their full address. The stored form keeps the local
/// part as it was added and lower-cases the domain; addresses are matched by their canonical key
/// (<see cref="AddressKey"/>), the same one aliases, access tables and Maildir names use. A user's name
/// must map one-to-one onto its Maildir ($virtual_mailbox_base/domain/local), so a local part with "/"
/// is refused, and so is a leading "#" (the users file reads it as a comment); a dot-atom cannot hold
/// "\", ":", white space, control characters or a leading ".".
/// </summary>
public static class UserAddress
{
    public const int MaxLength = 254;   // RFC 5321 §4.5.3.1.3 path limit less the angle brackets

    /// <summary>How stores compare addresses: the whole address by its canonical key.</summary>
    public static IEqualityComparer<string> Comparer => AddressKey.Comparer;

    /// <summary>Validates and canonicalizes an address, or returns false with a one-line reason.</summary>
    public static bool TryNormalize(string? address, out string canonical, out string error)
    {
        canonical = "";
        error = "";
        if (string.IsNullOrEmpty(address)) { error = "address is empty"; return false; }
        if (address.Length > MaxLength) { error = $"address is longer than {MaxLength} characters"; return false; }
        foreach (char c in address)
            if (c <= 0x20 || c >= 0x7f) { error = $"address '{Printable(address)}' contains a space, control or non-ASCII character"; return false; }
        int at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1) { error = $"address '{address}' is not of the form local@domain"; return false; }
        var local = address[..at];
        var domain = address[(at + 1)..];
        if (local.Length > PathParser.MaxLocalPart) { error = $"local part of '{address}' is longer than {PathParser.MaxLocalPart} characters"; return false; }
        if (!MailAddress.IsDotAtom(local)) { error = $"local part of '{address}' is not a valid dot-atom (RFC 5322 §3.2.3)"; return false; }
        if (local.Contains('/')) { error = $"local part of '{address}' contains '/', which cannot name a mailbox directory"; return false; }
        if (local[0] == '#') { error = $"local part of '{address}' starts with '#', which the users file reads as a comment"; return false; }
        if (domain.EndsWith('.') || !PathParser.IsValidDomain(domain, utf8: false)) { error = $"domain of '{address}' is not a valid host name"; return false; }
        canonical = local + "@" + domain.ToLowerInvariant();
        return true;
    }

    /// <summary>As <see cref="TryNormalize"/>, throwing <see cref="UserStoreException"/> with the reason.</summary>
    public static string Normalize(string? address)
        => TryNormalize(address, out var canonical, out var error) ? canonical : throw new UserStoreException(error);

    private static string Printable(string s) => new(s.Select(c => c < 0x20 || c >= 0x7f ? '?' : c).ToArray());
}
