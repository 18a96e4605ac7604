using System.Net;
using System.Net.Sockets;

namespace Omoikane.Server.Sasl;

/// <summary>
/// The unit a client is counted by: an IPv4 address, or the /64 network of an IPv6 address (one
/// host commonly holds a whole /64, so counting single IPv6 addresses would be no limit at all).
/// </summary>
public readonly record struct ClientKey(UInt128 Value, bool IsV6)
{
    public static ClientKey From(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            return new ClientKey(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes), false);
        }
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();   // keep the /64
        return new ClientKey(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes), true);
    }
}
