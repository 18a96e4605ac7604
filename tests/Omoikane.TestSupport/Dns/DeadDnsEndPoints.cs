using System.Net;
using System.Net.Sockets;

namespace Omoikane.TestSupport.Dns;

/// <summary>Name servers that do not work, for tests of a resolver that is down or silent.</summary>
public static class DeadDnsEndPoints
{
    /// <summary>A loopback UDP port with nothing bound to it: queries get ICMP "port unreachable".</summary>
    public static IPEndPoint Refusing()
    {
        using var u = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)u.Client.LocalEndPoint!;
    }

    /// <summary>A bound loopback UDP socket that receives queries and never answers; dispose it to free the port.</summary>
    public static UdpClient Silent() => new(new IPEndPoint(IPAddress.Loopback, 0));
}
