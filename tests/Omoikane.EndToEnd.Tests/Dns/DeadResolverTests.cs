using System.Diagnostics;
using System.Net;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Dns;

/// <summary>
/// The server with a resolver that is down (nothing listens on the dns_servers port) or silent (reads,
/// never answers): the banner comes without the long waits of retried timeouts, the client is named
/// unknown[ip], restrictions that need DNS defer with 4xx, and trusted or authenticated mail still goes in.
/// </summary>
public sealed class DeadResolverTests
{
    private static readonly IPAddress Outsider = IPAddress.Parse("127.0.0.3");

    private static string MainCf(string dnsServers, string dnsTimeout = "5s") => $"""
        dns_servers = {dnsServers}
        dns_timeout = {dnsTimeout}
        mynetworks = 127.0.0.1/32
        smtpd_client_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unknown_client_hostname
        """;

    /// <summary>Connects and returns the banner and how long it took.</summary>
    private static async Task<(RawSmtpClient Client, string Banner, TimeSpan Took)> ConnectAsync(IPEndPoint server, IPAddress source)
    {
        var watch = Stopwatch.StartNew();
        var client = await RawSmtpClient.ConnectAsync(server, source);
        var banner = await client.ReplyAsync(30000);
        return (client, banner, watch.Elapsed);
    }

    [Fact]
    public async Task UnreachableResolverKeepsTheServerUsable()
    {
        await using var server = await TestServer.StartAsync(MainCf(DeadDnsEndPoints.Refusing().ToString()));
        server.AddUser("alice@example.test", "secret");

        // From mynetworks: banner at once, mail accepted and delivered, client named unknown[127.0.0.1].
        for (int i = 0; i < 3; i++)
        {
            var (c, banner, took) = await ConnectAsync(server.EndPoint(), IPAddress.Loopback);
            await using var client = c;
            Assert.StartsWith("220 ", banner);
            Assert.True(took < TimeSpan.FromSeconds(5), $"banner #{i} after {took}");
            Assert.StartsWith("250", await client.CommandAsync("EHLO client.example"));
            Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<bob@remote.example>"));
            Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<alice@example.test>"));
            Assert.StartsWith("354", await client.CommandAsync("DATA"));
            Assert.StartsWith("250", await client.CommandAsync($"Subject: {i}\r\n\r\nbody\r\n."));
            await client.CommandAsync("QUIT");
        }
        var files = await server.WaitForMailAsync("example.test", "alice", 3);
        Assert.Contains("Received: from client.example (unknown [127.0.0.1])", Encoding.UTF8.GetString(await File.ReadAllBytesAsync(files[0])));
        await server.WaitForLogAsync("connect from unknown[127.0.0.1]");

        // From elsewhere: the name check cannot be made, so it defers (4xx), as Postfix does.
        var (o, obanner, otook) = await ConnectAsync(server.EndPoint(), Outsider);
        await using (var outsider = o)
        {
            Assert.True(otook < TimeSpan.FromSeconds(5), $"banner after {otook}");
            Assert.StartsWith("220 ", obanner);
            await outsider.CommandAsync("EHLO client.example");
            await outsider.CommandAsync("MAIL FROM:<bob@remote.example>");
            Assert.Equal("450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.3]", await outsider.CommandAsync("RCPT TO:<alice@example.test>"));
        }
        await server.WaitForLogAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.3]");

        // Authenticated from elsewhere: accepted.
        var (a, abanner, atook) = await ConnectAsync(server.EndPoint("127.0.0.1:587"), Outsider);
        await using (var auth = a)
        {
            Assert.True(atook < TimeSpan.FromSeconds(5), $"banner after {atook}");
            await auth.CommandAsync("EHLO client.example");
            Assert.StartsWith("235", await auth.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0secret"))));
            await auth.CommandAsync("MAIL FROM:<alice@example.test>");
            Assert.StartsWith("250", await auth.CommandAsync("RCPT TO:<alice@example.test>"));
        }
    }

    [Fact]
    public async Task SilentResolverDelaysTheBannerAtMostDnsTimeout()
    {
        using var silent = DeadDnsEndPoints.Silent();
        await using var server = await TestServer.StartAsync(MainCf(((IPEndPoint)silent.Client.LocalEndPoint!).ToString(), "2s"));
        var (c, banner, took) = await ConnectAsync(server.EndPoint(), IPAddress.Loopback);
        await using var client = c;
        Assert.StartsWith("220 ", banner);
        Assert.True(took < TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(3), $"banner after {took}");
        await server.WaitForLogAsync("connect from unknown[127.0.0.1]");
    }
}
