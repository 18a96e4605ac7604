using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Mail.Dns;

/// <summary>
/// Reverse names of an address: "d.c.b.a" for IPv4 (RFC 1035 §3.5), 32 nibbles in reverse order for
/// IPv6 (RFC 3596 §2.5). Used for PTR lookups under in-addr.arpa / ip6.arpa and for DNSBL queries
/// (RFC 5782 §2.1, §2.4). An IPv4-mapped IPv6 address is treated as the IPv4 address it carries.
/// </summary>
public static class ReverseDomainName
{
    /// <summary>The reversed labels without any zone: "4.3.2.1" for 1.2.3.4.</summary>
    public static string Labels(IPAddress address)
    {
        address = DnsAddress.Normalize(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        var sb = new StringBuilder(length == 4 ? 16 : 64);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            for (int i = 3; i >= 0; i--)
            {
                if (i < 3) sb.Append('.');
                sb.Append(bytes[i]);
            }
        }
        else
        {
            const string hex = "0123456789abcdef";
            for (int i = 15; i >= 0; i--)
            {
                if (i < 15) sb.Append('.');
                sb.Append(hex[bytes[i] & 0xF]).Append('.').Append(hex[bytes[i] >> 4]);
            }
        }
        return sb.ToString();
    }

    /// <summary>The reversed labels under a zone, as a DNSBL query name: "4.3.2.1.zen.example".</summary>
    public static string InZone(IPAddress address, string zone)
    {
        zone = zone.Trim().TrimEnd('.');
        return zone.Length == 0 ? Labels(address) : Labels(address) + "." + zone;
    }

    /// <summary>The PTR owner name: "4.3.2.1.in-addr.arpa" or "....ip6.arpa".</summary>
    public static string Arpa(IPAddress address)
        => InZone(address, DnsAddress.Normalize(address).AddressFamily == AddressFamily.InterNetwork ? "in-addr.arpa" : "ip6.arpa");
}
