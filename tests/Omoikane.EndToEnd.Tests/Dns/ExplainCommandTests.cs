using System.Text.Json;
using Omoikane.Cli;

namespace Omoikane.EndToEnd.Tests.Dns;

[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>
/// omoikane explain, run in-process through the command line with the console captured, against the
/// configuration of a running server: what explain prints must be what the server does and logs.
/// </summary>
[Collection(nameof(ConsoleCollection))]
public sealed class ExplainCommandTests
{
    private const string StoryRestrictions = "smtpd_client_restrictions = check_client_access texthash:DIR/client_access, reject_unknown_client_hostname";

    private static Task<DnsPolicyServer> StartStoryServerAsync(Action<TestSupport.Dns.LoopbackDnsServer>? zone = null)
        => DnsPolicyServer.StartAsync(zone ?? (_ => { }), StoryRestrictions,
            new Dictionary<string, string> { ["client_access"] = "127.0.0.9 OK\n" });

    private static async Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var run = CommandLine.RunAsync(args);
            var finished = await Task.WhenAny(run, Task.Delay(DnsPolicyServer.Timeout));
            Assert.True(finished == run, $"explain did not finish within {DnsPolicyServer.Timeout.TotalSeconds} s");
            return (await run, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    private static string[] Explain(DnsPolicyServer server, string client, params string[] more)
        => ["--config", server.Directory, "explain", "--client", client, "--helo", DnsPolicyServer.Helo,
            "--from", DnsPolicyServer.Sender, "--to", DnsPolicyServer.User, .. more];

    [Fact]
    public async Task ExplainShowsTheDeferralAndTheMaillogLineTheServerWrites()
    {
        await using var server = await StartStoryServerAsync();

        var (exit, output, _) = await RunAsync(Explain(server, "127.0.0.19"));
        var reply = await server.RcptReplyAsync("127.0.0.19");
        var logged = await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.19]");

        Assert.Equal(1, exit);
        var lines = output.Split(Environment.NewLine);
        Assert.Contains("  dns PTR 19.0.0.127.in-addr.arpa -> nxdomain", lines);
        Assert.Contains(lines, l => l.StartsWith("client name: unknown[127.0.0.19] (no PTR record", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  smtpd_client_restrictions: check_client_access texthash:", StringComparison.Ordinal) && l.EndsWith(" -> dunno", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("key \"127.0.0.19\" -> notfound", StringComparison.Ordinal));
        Assert.Contains("  smtpd_client_restrictions: reject_unknown_client_hostname -> reject 450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.19]", lines);
        Assert.Contains($"RCPT: reject: {reply}", lines);
        var maillog = Assert.Single(lines, l => l.StartsWith("maillog: ", StringComparison.Ordinal));
        Assert.EndsWith(": " + maillog["maillog: ".Length..], logged);
        Assert.Equal("result: deferred", lines.Last(l => l.Length > 0));
    }

    [Fact]
    public async Task ExplainShowsTheAccessTableLettingTheClientIn()
    {
        await using var server = await StartStoryServerAsync();

        var (exit, output, _) = await RunAsync(Explain(server, "127.0.0.9"));

        Assert.Equal(0, exit);
        var lines = output.Split(Environment.NewLine);
        Assert.Contains(lines, l => l.StartsWith("  smtpd_client_restrictions: check_client_access texthash:", StringComparison.Ordinal) && l.EndsWith(" -> permit", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("key \"127.0.0.9\" = OK -> found", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("reject_unknown_client_hostname", StringComparison.Ordinal));
        Assert.Contains("RCPT: accept", lines);
        Assert.Contains($"maillog: {ExplainCommand.QueueIdPlaceholder}: client=unknown[127.0.0.9]", lines);
        Assert.Equal("result: accepted", lines.Last(l => l.Length > 0));
        Assert.Equal("250 2.1.5 Ok", await server.RcptReplyAsync("127.0.0.9"));
    }

    [Fact]
    public async Task ExplainJsonNamesAForwardConfirmedClient()
    {
        await using var server = await StartStoryServerAsync(
            dns => dns.AddPtr("127.0.0.11", "client.example.org").AddA("client.example.org", "127.0.0.11"));

        var (exit, output, _) = await RunAsync(Explain(server, "127.0.0.11", "--json"));

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("accepted", root.GetProperty("result").GetString());
        Assert.Equal("client.example.org", root.GetProperty("client").GetProperty("name").GetString());
        Assert.Equal("ok", root.GetProperty("client").GetProperty("name_status").GetString());
        var dns = root.GetProperty("client").GetProperty("dns").EnumerateArray().Select(d => $"{d.GetProperty("type").GetString()} {d.GetProperty("name").GetString()} {d.GetProperty("status").GetString()}").ToList();
        Assert.Equal(["PTR 11.0.0.127.in-addr.arpa ok", "A/AAAA client.example.org ok"], dns);
        var rcpt = root.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == "RCPT");
        Assert.Equal("accept", rcpt.GetProperty("verdict").GetString());
        Assert.Contains(rcpt.GetProperty("trace").EnumerateArray(),
            t => t.GetProperty("restriction").GetString() == "reject_unknown_client_hostname" && t.GetProperty("verdict").GetString() == "dunno");
    }

    [Fact]
    public async Task ExplainRefusesAMissingOrMalformedClientWithExitCode2()
    {
        await using var server = await StartStoryServerAsync();

        var missing = await RunAsync("--config", server.Directory, "explain", "--to", DnsPolicyServer.User);
        var malformed = await RunAsync("--config", server.Directory, "explain", "--client", "127.0.0.300");
        var noService = await RunAsync("--config", server.Directory, "explain", "--client", "127.0.0.9", "--service", "submission");

        Assert.Equal((2, "", "omoikane: explain: --client is required"), (missing.ExitCode, missing.Out, missing.Err.Trim()));
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("\"127.0.0.300\" is not an IP address", malformed.Err);
        Assert.Equal(2, noService.ExitCode);
        Assert.Contains("no smtpd service \"submission\"", noService.Err);
    }
}
