using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.Dns;

/// <summary>Address normalisation shared by the DNS helpers.</summary>
public static class DnsAddress
{
    /// <summary>
    /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) becomes the IPv4 address, and an
    /// IPv6 scope id is dropped, so that addresses from sockets compare equal to addresses from DNS.
    /// </summary>
    public static IPAddress Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
            return new IPAddress(address.GetAddressBytes());
        return address;
    }

    /// <summary>Equality after <see cref="Normalize"/>.</summary>
    public static bool SameAddress(IPAddress a, IPAddress b) => Normalize(a).Equals(Normalize(b));
}
