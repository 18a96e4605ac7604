using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// A network "address/prefix" (cidr_table(5), mynetworks in postconf(5)). A bare address is a host
/// (/32 or /128). IPv6 may be written in brackets ("[::1]/128"), as mynetworks does.
/// </summary>
public sealed record IpNetwork(IPAddress Network, int PrefixLength)
{
    public AddressFamily Family => Network.AddressFamily;

    /// <summary>Parses a network; error says why not (null on success).</summary>
    public static bool TryParse(string text, out IpNetwork network, out string? error)
    {
        network = null!;
        error = null;
        var s = text.Trim();
        string addrPart = s, prefixPart = "";
        var slash = s.IndexOf('/');
        if (slash >= 0) { addrPart = s[..slash]; prefixPart = s[(slash + 1)..]; }
        if (addrPart.StartsWith('[') && addrPart.EndsWith(']')) addrPart = addrPart[1..^1];
        if (!IPAddress.TryParse(addrPart, out var addr) || addrPart.Contains('%')
            || (addr.AddressFamily == AddressFamily.InterNetwork && addrPart.Count(c => c == '.') != 3))
        {
            error = $"bad network address \"{addrPart}\"";
            return false;
        }
        int max = addr.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = max;
        if (slash >= 0 && (!int.TryParse(prefixPart, out prefix) || prefix < 0 || prefix > max || !prefixPart.All(char.IsAsciiDigit)))
        {
            error = $"bad network prefix \"/{prefixPart}\": expected 0..{max}";
            return false;
        }
        // cidr_table(5): the network address must not have host bits set beyond the prefix.
        var bytes = addr.GetAddressBytes();
        for (int bit = prefix; bit < max; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                error = $"non-null host address bits in \"{s}\", perhaps you should use \"{Mask(addr, prefix)}/{prefix}\" instead";
                return false;
            }
        }
        var (n, len) = NormalizeNetwork(addr, prefix);
        network = new IpNetwork(n, len);
        return true;
    }

    public bool Contains(IPAddress address)
    {
        address = Normalize(address);
        if (address.AddressFamily != Network.AddressFamily) return false;
        var a = address.GetAddressBytes();
        var n = Network.GetAddressBytes();
        int full = PrefixLength / 8, rest = PrefixLength % 8;
        for (int i = 0; i < full; i++)
            if (a[i] != n[i]) return false;
        if (rest == 0) return true;
        int mask = 0xff << (8 - rest) & 0xff;
        return (a[full] & mask) == (n[full] & mask);
    }

    /// <summary>IPv4-mapped IPv6 addresses ("::ffff:192.0.2.1") are compared as IPv4, as Postfix does.</summary>
    public static IPAddress Normalize(IPAddress address)
        => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>
    /// The network side of <see cref="Normalize"/>: an IPv4-mapped network ([::ffff:192.0.2.0]/120) is the IPv4
    /// network it maps (192.0.2.0/24), so it matches the IPv4 clients that addresses are normalised to.
    /// </summary>
    public static (IPAddress Network, int PrefixLength) NormalizeNetwork(IPAddress network, int prefixLength)
        => network.IsIPv4MappedToIPv6 && prefixLength >= 96 ? (network.MapToIPv4(), prefixLength - 96) : (network, prefixLength);

    private static IPAddress Mask(IPAddress addr, int prefix)
    {
        var b = addr.GetAddressBytes();
        for (int bit = prefix; bit < b.Length * 8; bit++) b[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(b);
    }

    public override string ToString() => $"{Network}/{PrefixLength}";
}
