using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Auth;

/// <summary>omoikane relaytest, the real program, against our own server closed and configured open.</summary>
public sealed class RelayTestCommandTests
{
    private static Task<(int Code, string Out, string Err)> RelayTestAsync(TestServer server, params string[] more)
        => OmoikaneProcess.RunAsync(server.Directory, null, ["relaytest", $"127.0.0.1:{server.Port()}", "--helo", "tester.example",
            "--from", "tester@tester.example", "--to-domain", "elsewhere.example", .. more]);

    [Fact]
    public async Task SourceAddressRunsTheBatteryFromOutsideMynetworks()
    {
        // mynetworks is 127.0.0.1 only: from there everything relays; from 127.0.0.2 nothing may.
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.1/32\nrelayhost = [127.0.0.1]:9");
        server.AddUser("postmaster@example.test", "pw");
        var outside = await RelayTestAsync(server, "--source", "127.0.0.2");
        Assert.True(outside.Code == 0, outside.Out + outside.Err);
        Assert.Matches(@"relaytest: \d+ tests, 0 relayed: not an open relay", outside.Out.Trim().Split('\n')[^1]);
        await server.WaitForLogAsync("connect from unknown[127.0.0.2]");

        var inside = await RelayTestAsync(server);
        Assert.Equal(1, inside.Code);
        Assert.Contains("OPEN RELAY", inside.Out);

        var bad = await RelayTestAsync(server, "--source", "not-an-ip");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--source", bad.Err);
    }

    [Fact]
    public async Task TemporaryRefusalsMakeTheRunInconclusive()
    {
        // defer_unauth_destination: every relay attempt gets 450, which proves nothing either way.
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32\nsmtpd_relay_restrictions = permit_mynetworks, defer_unauth_destination");
        server.AddUser("postmaster@example.test", "pw");
        var r = await RelayTestAsync(server, "--no-data");
        Assert.True(r.Code == 2, r.Out + r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("relaytest: test 1 (") && l.Contains(": inconclusive at RCPT: 4"));
        Assert.DoesNotContain(lines, l => l.Contains("refused temporarily"));
        Assert.Matches(@"^relaytest: \d+ tests, 0 relayed, \d+ cut short by a 4xx reply: inconclusive$", lines[^1]);
    }

    [Fact]
    public async Task OurServerPassesTheWholeBattery()
    {
        // The test client (127.0.0.1) is outside mynetworks: nothing may relay, whatever the trick.
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32");
        server.AddUser("postmaster@example.test", "pw");
        var r = await RelayTestAsync(server);
        Assert.True(r.Code == 0, r.Out + r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Count(l => l.StartsWith("relaytest: test ")) >= 19);
        Assert.DoesNotContain(lines, l => l.StartsWith("relaytest: test ") && l.Contains(": relayed"));
        Assert.Matches(@"relaytest: \d+ tests, 0 relayed: not an open relay", lines[^1]);
        Assert.Empty(Directory.GetFiles(Path.Combine(server.Host.Config.QueueDirectory, "messages")));
    }

    [Fact]
    public async Task AServerConfiguredOpenFails()
    {
        // Everyone in mynetworks: the classic misconfiguration that makes an open relay.
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.0/8 0.0.0.0/0\nrelayhost = [127.0.0.1]:9");
        var r = await RelayTestAsync(server);
        Assert.Equal(1, r.Code);
        Assert.Contains("OPEN RELAY", r.Out);
    }
}
