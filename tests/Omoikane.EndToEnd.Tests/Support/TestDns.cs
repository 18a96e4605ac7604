using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Support;

/// <summary>
/// A DNS server on loopback for every test server that needs no particular records: every name is
/// NXDOMAIN, answered at once. Test configurations set dns_servers to it so that no test ever asks
/// the system's resolver (which is not on loopback).
/// </summary>
public static class TestDns
{
    private static readonly Lazy<LoopbackDnsServer> Server = new(() => LoopbackDnsServer.Start());

    /// <summary>The value for dns_servers.</summary>
    public static string Servers => Server.Value.DnsServersValue;

    /// <summary>A main.cf line pointing at it.</summary>
    public static string MainCfLine => $"dns_servers = {Servers}";
}
