using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Auth;

/// <summary>omoikane relaytest, the real program, against our own server closed and configured open.</summary>
public sealed class RelayTestCommandTests
{
    private static Task<(int Code, string Out, string Err)> RelayTestAsync(TestServer server)
        => OmoikaneProcess.RunAsync(server.Directory, null, "relaytest", $"127.0.0.1:{server.Port()}", "--helo", "tester.example",
            "--from", "tester@tester.example", "--to-domain", "elsewhere.example");

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
