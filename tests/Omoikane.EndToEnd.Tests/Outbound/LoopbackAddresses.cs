using System.Net;
using System.Net.Sockets;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>Distinct 127.0.x.y addresses per test (every one is loopback on Linux), so that tests never share a listener.</summary>
public static class LoopbackAddresses
{
    private static int _next = Environment.ProcessId % 200 * 50;

    public static string Next()
    {
        var n = Interlocked.Increment(ref _next);
        return $"127.0.{1 + n / 250 % 250}.{1 + n % 250}";
    }

    /// <summary>A port that was free on <paramref name="address"/> a moment ago.</summary>
    public static int FreePort(string address)
    {
        using var l = new TcpListener(IPAddress.Parse(address), 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
