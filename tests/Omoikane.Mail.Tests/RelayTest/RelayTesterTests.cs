using System.Net;
using System.Net.Sockets;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.RelayTest;

namespace Omoikane.Mail.Tests.RelayTest;

public sealed class RelayTesterTests
{
    private const string Helo = "tester.omoikane.test";
    private const string From = "relaytest@tester.omoikane.test";

    /// <summary>The battery the tester builds against the scripted server (reached as 127.0.0.1, named by its greeting).</summary>
    private static readonly IReadOnlyList<RelayTestCase> Battery = RelayTestBattery.Build(
        RelayTestTarget.Create("127.0.0.1", IPAddress.Loopback, $"220 {ScriptedSmtpBehavior.Name} ESMTP", From,
            RelayTestOptions.DefaultToDomain, RelayTestOptions.DefaultToAddress));

    public static TheoryData<int> TestNumbers()
    {
        var data = new TheoryData<int>();
        foreach (var t in Battery) data.Add(t.Number);
        return data;
    }

    private static async Task<(RelayTestReport Report, string[] Lines)> RunAsync(ScriptedSmtpServer server, Func<RelayTestOptions, RelayTestOptions>? configure = null)
        => await RunAsync(server.Port, configure);

    private static async Task<(RelayTestReport Report, string[] Lines)> RunAsync(int port, Func<RelayTestOptions, RelayTestOptions>? configure = null)
    {
        var options = new RelayTestOptions
        {
            Host = "127.0.0.1",
            Port = port,
            Helo = Helo,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            CommandTimeout = TimeSpan.FromSeconds(5),
        };
        if (configure is not null) options = configure(options);
        var output = new StringWriter { NewLine = "\n" };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var report = await new RelayTester().RunAsync(options, output, cts.Token);
        return (report, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>A closed relay: only its own domain, and no routing operators in the local part (Postfix's smtpd_check).</summary>
    private static string? Closed(string from, string rcpt)
    {
        if (PathParser.TryParse($"<{rcpt}>", allowNull: false, utf8: false, out var address, out _) != PathError.None)
            return "501 5.1.3 Bad recipient address syntax";
        if (address.DomainKey != ScriptedSmtpBehavior.Name || address.HasRoutingOperators)
            return $"554 5.7.1 <{rcpt}>: Relay access denied";
        return "250 2.1.5 Ok";
    }

    private static string TestLine(string[] lines, int number) =>
        Assert.Single(lines, l => l.StartsWith($"relaytest: test {number} (", StringComparison.Ordinal));

    [Fact]
    public void BatteryHasAtLeastNineteenDistinctAttempts()
    {
        Assert.True(Battery.Count >= 19);
        Assert.Equal(Battery.Count, Battery.Select(t => (t.MailFrom, t.RcptTo)).Distinct().Count());
        Assert.Equal(Battery.Count, Battery.Select(t => t.Name).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, Battery.Count), Battery.Select(t => t.Number));
        // Every attempt aims at the foreign domain (or its address literal), never at the server's own mailboxes.
        Assert.All(Battery, t => Assert.True(
            t.RcptTo.Contains("example.com", StringComparison.OrdinalIgnoreCase) || t.RcptTo.Contains("[192.0.2.1]"), t.RcptTo));
    }

    [Fact]
    public void BatteryCoversTheClassicTricks()
    {
        var pairs = Battery.Select(t => $"{t.MailFrom} -> {t.RcptTo}").ToList();
        const string h = ScriptedSmtpBehavior.Name;
        string[] expected =
        [
            $"{From} -> relaytest@example.com",
            " -> relaytest@example.com",
            "relaytest -> relaytest@example.com",
            "postmaster@[127.0.0.1] -> relaytest@example.com",
            $"relaytest@{h} -> relaytest@example.com",
            "postmaster@omoikane.test -> relaytest@example.com",
            $"{From} -> RELAYTEST@EXAMPLE.COM",
            $"{From} -> relaytest@example.com.",
            $"{From} -> relaytest@[192.0.2.1]",
            $"{From} -> relaytest%example.com@{h}",
            $"{From} -> relaytest%example.com@[127.0.0.1]",
            $"{From} -> \"relaytest@example.com\"",
            $"{From} -> \"relaytest%example.com\"",
            $"{From} -> relaytest@example.com@{h}",
            $"{From} -> \"relaytest@example.com\"@{h}",
            $"{From} -> @{h}:relaytest@example.com",
            $"{From} -> example.com!relaytest",
            $"{From} -> example.com!relaytest@{h}",
            $"{From} -> example.com!relaytest@[127.0.0.1]",
        ];
        Assert.All(expected, e => Assert.Contains(e, pairs));
    }

    [Fact]
    public async Task OpenRelayIsReportedForEveryTestAndExitsOne()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior());
        var (report, lines) = await RunAsync(server);

        Assert.Equal(1, report.ExitCode);
        Assert.True(report.IsOpenRelay);
        Assert.Equal(Battery.Count, report.Relayed);
        Assert.Equal($"relaytest: {Battery.Count} tests, {Battery.Count} relayed: OPEN RELAY", lines[^1]);
        Assert.Equal($"relaytest: connected to 127.0.0.1[127.0.0.1]:{server.Port}: 220 {ScriptedSmtpBehavior.Name} ESMTP", lines[0]);
        Assert.Equal(Battery.Count + 2, lines.Length);
        foreach (var t in Battery)
            Assert.Equal($"relaytest: test {t.Number} ({t.Name}): from=<{t.MailFrom}> to=<{t.RcptTo}>: RELAYED at DATA: 250 2.0.0 Ok: queued as 4ABC",
                TestLine(lines, t.Number));
        // One message per test, each saying what it is; one connection, RSET between the transactions.
        Assert.Equal(Battery.Count, server.Messages.Count);
        Assert.All(Battery, t => Assert.Single(server.Messages, m => m.Contains($"Subject: omoikane relaytest: open relay test {t.Number} through {ScriptedSmtpBehavior.Name}\n")));
        Assert.Equal(1, server.Connections);
        Assert.Equal(Battery.Count, server.Count("RSET"));
        Assert.Equal(1, server.Count("QUIT"));
        Assert.Contains($"EHLO {Helo}", server.Commands);
        Assert.Contains($"MAIL FROM:<{From}>", server.Commands);
        Assert.Contains("MAIL FROM:<>", server.Commands);
    }

    [Fact]
    public async Task ClosedRelayRefusesEveryTestAndExitsZero()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Rcpt = Closed });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(0, report.ExitCode);
        Assert.Equal(0, report.Relayed);
        Assert.All(report.Results, r => Assert.Equal(RelayTestOutcome.Refused, r.Outcome));
        Assert.All(report.Results, r => Assert.Equal(RelayTestStage.RcptTo, r.Stage));
        Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed: not an open relay", lines[^1]);
        Assert.Equal("relaytest: test 1 (plain relay): from=<relaytest@tester.omoikane.test> to=<relaytest@example.com>: refused at RCPT: 554 5.7.1 <relaytest@example.com>: Relay access denied",
            TestLine(lines, 1));
        Assert.Equal(0, server.Count("DATA"));
        Assert.Empty(server.Messages);
        Assert.Equal(1, server.Connections);
    }

    [Theory]
    [MemberData(nameof(TestNumbers))]
    public async Task ServerRelayingOneTrickIsCaughtByExactlyThatTest(int number)
    {
        var trick = Battery[number - 1];
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Rcpt = (from, rcpt) => from == trick.MailFrom && rcpt == trick.RcptTo ? "250 2.1.5 Ok" : "554 5.7.1 Relay access denied",
        });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(1, report.ExitCode);
        var relayed = Assert.Single(report.Results, r => r.Relayed);
        Assert.Equal(number, relayed.Number);
        Assert.Contains(": RELAYED at DATA: 250 2.0.0 Ok: queued as 4ABC", TestLine(lines, number));
        Assert.Equal($"relaytest: {Battery.Count} tests, 1 relayed: OPEN RELAY", lines[^1]);
        Assert.Single(server.Messages);
    }

    [Fact]
    public async Task PercentHackServerIsCaughtByThePercentTests()
    {
        // Like an old sendmail: the server's name, its address literal and unqualified addresses are local,
        // and a local part "user%domain" is forwarded to "user@domain".
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Rcpt = (_, rcpt) =>
            {
                var at = rcpt.LastIndexOf('@');
                var local = (at < 0 ? rcpt : rcpt[..at]).Trim('"');
                var domain = at < 0 ? ScriptedSmtpBehavior.Name : rcpt[(at + 1)..];
                var own = domain is ScriptedSmtpBehavior.Name or "[127.0.0.1]";
                return own && local.Contains('%') && !local.Contains('@') ? "250 2.1.5 Ok" : "554 5.7.1 Relay access denied";
            },
        });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(1, report.ExitCode);
        Assert.Equal(
            ["percent hack via host name", "percent hack via address", "unqualified percent hack", "quoted percent hack", "quoted percent hack via host name"],
            report.Results.Where(r => r.Relayed).Select(r => r.Test.Name));
        Assert.Equal($"relaytest: {Battery.Count} tests, 5 relayed: OPEN RELAY", lines[^1]);
    }

    [Fact]
    public async Task NoDataStopsAtRcptAndCountsAnAcceptedRecipientAsRelayed()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior());
        var (report, lines) = await RunAsync(server, o => o with { NoData = true });

        Assert.Equal(1, report.ExitCode);
        Assert.All(report.Results, r => Assert.Equal(RelayTestStage.RcptTo, r.Stage));
        Assert.Contains(": RELAYED at RCPT: 250 2.1.5 Ok", TestLine(lines, 1));
        Assert.Equal(0, server.Count("DATA"));
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task RecipientAcceptedButDataRefusedIsNotRelayed()
    {
        var behavior = new ScriptedSmtpBehavior { Data = "554 5.7.1 Relaying denied at DATA" };
        await using (var server = new ScriptedSmtpServer(behavior))
        {
            var (report, lines) = await RunAsync(server);
            Assert.Equal(0, report.ExitCode);
            Assert.All(report.Results, r => Assert.Equal((RelayTestOutcome.Refused, RelayTestStage.Data), (r.Outcome, r.Stage)));
            Assert.EndsWith(": refused at DATA: 554 5.7.1 Relaying denied at DATA", TestLine(lines, 3));
            Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed: not an open relay", lines[^1]);
        }
        // The same server judged at RCPT only looks open.
        await using (var server = new ScriptedSmtpServer(behavior))
        {
            var (report, _) = await RunAsync(server, o => o with { NoData = true });
            Assert.Equal(1, report.ExitCode);
        }
    }

    [Fact]
    public async Task EndOfDataRefusedTemporarilyIsInconclusive()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { EndOfData = "451 4.3.0 Try again later" });
        var (report, lines) = await RunAsync(server);

        // The server put the decision off: the test proves nothing, so the run is inconclusive (exit 2), not "refused".
        Assert.Equal(2, report.ExitCode);
        Assert.All(report.Results, r => Assert.Equal(RelayTestOutcome.Inconclusive, r.Outcome));
        Assert.EndsWith(": inconclusive at DATA: 451 4.3.0 Try again later", TestLine(lines, 1));
        Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed, {Battery.Count} cut short by a 4xx reply: inconclusive", lines[^1]);
        Assert.Equal(Battery.Count, server.Messages.Count);
    }

    [Fact]
    public async Task RefusedSenderEndsTheTestAtMail()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Mail = from => from.Contains('@') || from.Length == 0 ? "250 2.1.0 Ok" : "553 5.5.4 Domain name required",
        });
        var (report, lines) = await RunAsync(server);

        var unqualified = Assert.Single(report.Results, r => r.MailFrom == "relaytest");
        Assert.Equal((RelayTestOutcome.Refused, RelayTestStage.MailFrom), (unqualified.Outcome, unqualified.Stage));
        Assert.EndsWith(": refused at MAIL: 553 5.5.4 Domain name required", TestLine(lines, unqualified.Number));
        Assert.Equal("RSET", server.Commands.SkipWhile(c => c != "MAIL FROM:<relaytest>").Skip(1).First());
        Assert.Equal(Battery.Count - 1, report.Relayed);
    }

    [Fact]
    public async Task ConnectionDroppedOnceIsRetriedOnANewConnection()
    {
        var dropped = 0;
        var victim = Battery[4];
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Rcpt = (from, rcpt) => from == victim.MailFrom && rcpt == victim.RcptTo && Interlocked.Exchange(ref dropped, 1) == 0
                ? null
                : Closed(from, rcpt),
        });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(0, report.ExitCode);
        Assert.Equal(2, server.Connections);
        Assert.All(report.Results, r => Assert.Equal(RelayTestOutcome.Refused, r.Outcome));
        Assert.Contains(": refused at RCPT: 554 5.7.1", TestLine(lines, victim.Number));
        Assert.Equal(2, server.Commands.Count(c => c == $"MAIL FROM:<{victim.MailFrom}>"));
    }

    [Fact]
    public async Task TestThatAlwaysLosesTheConnectionIsReportedFailedAndTheRunIsInconclusive()
    {
        var victim = Battery[11];
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Rcpt = (from, rcpt) => rcpt == victim.RcptTo ? null : Closed(from, rcpt),
        });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(2, report.ExitCode);
        var failed = Assert.Single(report.Results, r => r.Outcome == RelayTestOutcome.Failed);
        Assert.Equal(victim.Number, failed.Number);
        Assert.Equal($"relaytest: test {victim.Number} ({victim.Name}): from=<{victim.MailFrom}> to=<{victim.RcptTo}>: failed at RCPT: connection closed by the server",
            TestLine(lines, victim.Number));
        Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed, 1 incomplete: inconclusive", lines[^1]);
        // First connection, the retry, and a fresh one for the tests after it.
        Assert.Equal(3, server.Connections);
        Assert.Equal(Battery.Count - 1, report.Results.Count(r => r.Outcome == RelayTestOutcome.Refused));
    }

    [Fact]
    public async Task ServerThatHangsUpAfterEveryRefusalGetsAConnectionPerTest()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Rcpt = Closed, CloseAfterRcpt = true });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(0, report.ExitCode);
        Assert.Equal(Battery.Count, server.Connections);
        Assert.All(report.Results, r => Assert.Equal(RelayTestOutcome.Refused, r.Outcome));
        Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed: not an open relay", lines[^1]);
    }

    [Fact]
    public async Task ServerThatCannotBeReachedAgainLeavesTheRemainingTestsNotRun()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Rcpt = Closed, CloseAfterRcpt = true, MaxConnections = 1 });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(2, report.ExitCode);
        Assert.Equal(RelayTestOutcome.Refused, report.Results[0].Outcome);
        Assert.All(report.Results.Skip(1), r => Assert.Equal(RelayTestOutcome.NotRun, r.Outcome));
        Assert.Equal(Battery.Count, report.Results.Count);
        Assert.StartsWith("relaytest: test 2 (null sender): from=<> to=<relaytest@example.com>: not run: cannot reconnect: ", TestLine(lines, 2));
        Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed, {Battery.Count - 1} incomplete: inconclusive", lines[^1]);
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task CancellationStopsTheRun()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Silent = true });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var options = new RelayTestOptions { Host = "127.0.0.1", Port = server.Port, Helo = Helo };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RelayTester().RunAsync(options, TextWriter.Null, cts.Token));
    }

    [Fact]
    public async Task ServiceClosingReplyOpensANewConnectionWithoutRset()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Rcpt = (_, _) => "421 4.7.0 Too many errors, closing",
            CloseAfterRcpt = true,
        });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(2, report.ExitCode);
        Assert.All(report.Results, r => Assert.Equal(RelayTestOutcome.Inconclusive, r.Outcome));
        Assert.EndsWith(": inconclusive at RCPT: 421 4.7.0 Too many errors, closing", TestLine(lines, 1));
        Assert.Equal(0, server.Count("RSET"));
        Assert.Equal(Battery.Count, server.Connections);
    }

    [Fact]
    public async Task UnreachableServerExitsTwo()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (report, lines) = await RunAsync(port);

        Assert.Equal(2, report.ExitCode);
        Assert.Empty(report.Results);
        var line = Assert.Single(lines);
        Assert.StartsWith($"relaytest: cannot connect to 127.0.0.1:{port}: ", line);
        Assert.Equal(line, report.Verdict);
    }

    [Fact]
    public async Task EhloRefusedFallsBackToHelo()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Ehlo = _ => "502 5.5.2 Error: command not recognized", Rcpt = Closed });
        var (report, _) = await RunAsync(server);

        Assert.Equal(0, report.ExitCode);
        Assert.Equal(Battery.Count, report.Results.Count);
        Assert.Equal([$"EHLO {Helo}", $"HELO {Helo}"], server.Commands.Take(2));
    }

    [Fact]
    public async Task EhloRefusedTemporarilyIsAProtocolFailure()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Ehlo = _ => "421 4.3.2 Shutting down" });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(2, report.ExitCode);
        Assert.Equal($"relaytest: cannot connect to 127.0.0.1:{server.Port}: EHLO refused: 421 4.3.2 Shutting down", Assert.Single(lines));
        Assert.DoesNotContain(server.Commands, c => c.StartsWith("HELO"));
    }

    [Fact]
    public async Task RefusedSessionIsAProtocolFailure()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Greeting = "554 5.7.1 No SMTP service here" });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(2, report.ExitCode);
        Assert.Equal($"relaytest: cannot connect to 127.0.0.1:{server.Port}: session refused: 554 5.7.1 No SMTP service here", Assert.Single(lines));
    }

    [Fact]
    public async Task MultiLineRepliesAreReadWhole()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior
        {
            Greeting = $"220-{ScriptedSmtpBehavior.Name} ESMTP\r\n220-no UCE\r\n220 welcome",
            Rcpt = (_, _) => "550-5.7.1 Relaying denied.\r\n550-5.7.1 See the policy\r\n550 5.7.1 at example.net",
        });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(0, report.ExitCode);
        Assert.Equal($"relaytest: connected to 127.0.0.1[127.0.0.1]:{server.Port}: 220 {ScriptedSmtpBehavior.Name} ESMTP no UCE welcome", lines[0]);
        Assert.EndsWith(": refused at RCPT: 550 5.7.1 Relaying denied. See the policy at example.net", TestLine(lines, 1));
        // The host name came from the greeting, so the tricks route through it.
        Assert.Contains(report.Results, r => r.RcptTo == $"relaytest%example.com@{ScriptedSmtpBehavior.Name}");
    }

    [Fact]
    public async Task RepliesArrivingOneByteAtATimeAreReassembled()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Rcpt = Closed, Trickle = true });
        var (report, lines) = await RunAsync(server, o => o with { NoData = true });

        Assert.Equal(0, report.ExitCode);
        Assert.All(report.Results, r => Assert.Equal(RelayTestOutcome.Refused, r.Outcome));
        Assert.Equal($"relaytest: {Battery.Count} tests, 0 relayed: not an open relay", lines[^1]);
    }

    [Fact]
    public async Task BareLineFeedRepliesAreAProtocolFailure()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { LineEnd = "\n" });
        var (report, lines) = await RunAsync(server);

        Assert.Equal(2, report.ExitCode);
        Assert.Equal($"relaytest: cannot connect to 127.0.0.1:{server.Port}: reply line not terminated by CRLF", Assert.Single(lines));
    }

    [Fact]
    public async Task SilentServerTimesOut()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Silent = true });
        var (report, lines) = await RunAsync(server, o => o with { CommandTimeout = TimeSpan.FromMilliseconds(300) });

        Assert.Equal(2, report.ExitCode);
        Assert.Equal($"relaytest: cannot connect to 127.0.0.1:{server.Port}: timed out waiting for the server", Assert.Single(lines));
    }

    [Fact]
    public async Task OptionsAreUsedOnTheWire()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior { Rcpt = Closed });
        var (report, _) = await RunAsync(server, o => o with
        {
            Helo = "probe.example.net",
            From = "checker@example.net",
            ToDomain = "relay-target.example",
            ToAddress = IPAddress.Parse("198.51.100.7"),
        });

        Assert.Equal(0, report.ExitCode);
        Assert.Equal("EHLO probe.example.net", server.Commands.First());
        Assert.Contains("MAIL FROM:<checker@example.net>", server.Commands);
        Assert.Contains("RCPT TO:<relaytest@relay-target.example>", server.Commands);
        Assert.Contains("RCPT TO:<relaytest@[198.51.100.7]>", server.Commands);
        Assert.Contains("RCPT TO:<relay-target.example!relaytest@[127.0.0.1]>", server.Commands);
        Assert.DoesNotContain(server.Commands, c => c.Contains("example.com", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task OptionsThatWouldInjectCommandsAreRefused()
    {
        await using var server = new ScriptedSmtpServer(new ScriptedSmtpBehavior());
        var (report, lines) = await RunAsync(server, o => o with { From = "a@b>\r\nRCPT TO:<victim@example.org" });

        Assert.Equal(2, report.ExitCode);
        Assert.Equal("relaytest: invalid option: bad sender \"a@b>??RCPT TO:<victim@example.org\"", Assert.Single(lines));
        Assert.Equal(0, server.Connections);
    }
}
