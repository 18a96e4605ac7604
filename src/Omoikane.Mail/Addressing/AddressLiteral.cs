using System.Net;

namespace Omoikane.Mail.Addressing;

/// <summary>Address literals as domains (RFC 5321 §4.1.3): "[192.0.2.1]", "[IPv6:2001:db8::1]".</summary>
public static class AddressLiteral
{
    /// <summary>The address a literal names (IPv4-mapped IPv6 as IPv4), or false when it is not one.</summary>
    public static bool TryParse(string literal, out IPAddress address)
    {
        address = IPAddress.None;
        if (literal.Length < 3 || literal[0] != '[' || literal[^1] != ']') return false;
        var inner = literal[1..^1];
        // The "IPv6:" tag is optional here, as in Postfix's valid_mailhost_addr().
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)) inner = inner[5..];
        if (!IPAddress.TryParse(inner, out var a)) return false;
        address = a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
        return true;
    }

    /// <summary>True when the literal names one of <paramref name="own"/> (addresses compared in their IPv4 form where mapped).</summary>
    public static bool IsOneOf(string literal, IReadOnlySet<IPAddress> own)
        => TryParse(literal, out var a) && own.Contains(a);

    /// <summary>A set of own addresses in the form <see cref="TryParse"/> gives.</summary>
    public static IReadOnlySet<IPAddress> Set(IEnumerable<IPAddress>? addresses)
        => new HashSet<IPAddress>((addresses ?? []).Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a));
}
