using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Omoikane.Server.Sasl;

/// <summary>
/// The unit a client is counted by (Postfix 3.8's anvil client key): an IPv4 address, or the network of
/// an IPv6 address cut to smtpd_client_ipv6_prefix_length bits (default 84: one host commonly holds a
/// whole /64 or more, so counting single IPv6 addresses would be no limit at all). Used alike by the
/// failed-login throttle, the AUTH and connection rate limits and the connection count limit.
/// </summary>
public readonly record struct ClientKey(UInt128 Value, bool IsV6)
{
    /// <summary>Postfix 3.8's default for smtpd_client_ipv6_prefix_length.</summary>
    public const int DefaultIpv6PrefixLength = 84;

    public static ClientKey From(IPAddress address, int ipv6PrefixLength = DefaultIpv6PrefixLength)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            return new ClientKey(BinaryPrimitives.ReadUInt128BigEndian(bytes), false);
        }
        address.TryWriteBytes(bytes, out _);
        int prefix = Math.Clamp(ipv6PrefixLength, 0, 128);
        var value = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        var mask = prefix == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - prefix);
        return new ClientKey(value & mask, true);
    }
}
