using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>Temporary and permanent failures: retries with backoff, bounces (RFC 3464) to the local sender, expiry, restart.</summary>
public sealed class OutboundRetryTests
{
    [Fact]
    public async Task TemporaryRejectionIsRetriedUntilAccepted()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var peer = new ScriptedSmtpPeer(address, 0, connection => connection == 0 ? "451 4.3.0 <bob@remote.test>: Temporary lookup failure" : "250 2.1.5 Ok");
        s.Own(peer);
        var sender = await s.StartSenderAsync($"transport_maps = inline:{{ remote.test=smtp:[{address}]:{peer.EndPoint.Port} }}\nsmtp_connection_cache_time_limit = 0s");
        var message = OutboundScenario.Message("retry me", "first line\n.dot line\n");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], message);

        await Poll.UntilAsync(() => sender.Maillog.Contains(
            $"to=<bob@remote.test>, relay={address}[{address}]:{peer.EndPoint.Port},", StringComparison.Ordinal)
            && sender.Maillog.Contains($"dsn=4.3.0, status=deferred (host {address}[{address}] said: 451 4.3.0 <bob@remote.test>: Temporary lookup failure (in reply to RCPT TO command))", StringComparison.Ordinal),
            "the deferral");
        var received = await Poll.UntilAsync(() => peer.Messages.FirstOrDefault(), "the retry to succeed");
        Assert.True(peer.Connections >= 2);
        Assert.EndsWith(message.Replace("\n", "\r\n"), received, StringComparison.Ordinal);
        Assert.Contains("status=sent (250 2.0.0 Ok: queued as SCRIPTED1)", sender.Maillog, StringComparison.Ordinal);
        Assert.Contains("MAIL FROM:<alice@sender.test>", peer.Commands);
        Assert.Contains("EHLO sender.test", peer.Commands);
    }

    /// <summary>
    /// queue_run_delay: deferred mail is retried at the queue manager's next scan of the deferred messages,
    /// not as soon as its backoff ends; a flush (postqueue -f) scans at once.
    /// </summary>
    [Fact]
    public async Task DeferredMailWaitsForTheNextQueueRun()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var peer = new ScriptedSmtpPeer(address, 0, connection => connection == 0 ? "451 4.3.0 <bob@remote.test>: Try again later" : "250 2.1.5 Ok");
        s.Own(peer);
        var sender = await s.StartSenderAsync($"transport_maps = inline:{{ remote.test=smtp:[{address}]:{peer.EndPoint.Port} }}\nsmtp_connection_cache_time_limit = 0s\nqueue_run_delay = 1h");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("next run"));
        await Poll.UntilAsync(() => sender.Maillog.Contains("status=deferred (host", StringComparison.Ordinal), "the deferral");
        // The backoff (minimal_backoff_time = 1s) ends long before this wait does; the next queue run is an hour away.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(1, peer.Connections);
        Assert.Empty(peer.Messages);

        sender.Host.Queue.FlushDeferred();
        await Poll.UntilAsync(() => peer.Messages.FirstOrDefault(), "the retry after the flush");
        Assert.Equal(2, peer.Connections);
    }

    [Fact]
    public async Task PermanentRejectionBouncesToTheLocalSenderWithDsnFields()
    {
        await using var s = new OutboundScenario();
        var peerAddress = LoopbackAddresses.Next();
        var peer = await s.StartPeerAsync(peerAddress);
        var sender = await s.StartSenderAsync($"relayhost = [{peerAddress}]:{peer.SmtpEndPoint.Port}");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test", "nobody@remote.test"], OutboundScenario.Message("half bounces"));

        var bounce = await Poll.UntilAsync(() => sender.Mailbox("sender.test", "alice").FirstOrDefault(), "the bounce in alice's mailbox");
        await Poll.UntilAsync(() => peer.Mailbox("remote.test", "bob").FirstOrDefault(), "bob's copy");
        Assert.Contains("From: MAILER-DAEMON@sender.test (Mail Delivery System)", bounce, StringComparison.Ordinal);
        Assert.StartsWith("Return-Path: <>\n", bounce, StringComparison.Ordinal);
        Assert.Contains("Content-Type: multipart/report; report-type=delivery-status;", bounce, StringComparison.Ordinal);
        Assert.Contains("Content-Type: message/delivery-status", bounce, StringComparison.Ordinal);
        var report = Regex.Match(bounce, @"Final-Recipient: rfc822; nobody@remote\.test\nAction: failed\nStatus: (5\.\d+\.\d+)\nRemote-MTA: dns; (\S+)\nDiagnostic-Code: smtp; (.*)\n");
        Assert.True(report.Success, bounce);
        Assert.Equal("5.1.1", report.Groups[1].Value);
        Assert.Equal(peerAddress, report.Groups[2].Value);
        Assert.StartsWith($"host {peerAddress}[{peerAddress}] said: 550 5.1.1 <nobody@remote.test>: Recipient address rejected:", report.Groups[3].Value);
        Assert.EndsWith("(in reply to RCPT TO command)", report.Groups[3].Value);
        Assert.DoesNotContain("Final-Recipient: rfc822; bob@remote.test", bounce, StringComparison.Ordinal);
        Assert.Contains("Subject: half bounces", bounce, StringComparison.Ordinal); // the returned headers
    }

    [Fact]
    public async Task UnreachablePeerDefersShowsInQueueListThenExpiresWithBounce()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var port = LoopbackAddresses.FreePort(address);
        var sender = await s.StartSenderAsync($"""
            relayhost = [{address}]:{port}
            maximal_queue_lifetime = 4s
            """);

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("nobody home"));
        var refused = $"connect to {address}[{address}]:{port}: Connection refused";
        await Poll.UntilAsync(() => sender.Maillog.Contains($"to=<bob@remote.test>, relay=none,", StringComparison.Ordinal)
            && sender.Maillog.Contains($"dsn=4.4.1, status=deferred ({refused})", StringComparison.Ordinal), "the deferral");

        var json = await RunCliAsync("queue", "list", "--json", "--config", sender.Directory);
        using (var doc = JsonDocument.Parse(json))
        {
            var msg = Assert.Single(doc.RootElement.EnumerateArray());
            Assert.Equal("deferred", msg.GetProperty("queue_name").GetString());
            Assert.Equal("alice@sender.test", msg.GetProperty("sender").GetString());
            var rcpt = Assert.Single(msg.GetProperty("recipients").EnumerateArray());
            Assert.Equal("bob@remote.test", rcpt.GetProperty("address").GetString());
            Assert.Equal(refused, rcpt.GetProperty("delay_reason").GetString());
        }

        var bounce = await Poll.UntilAsync(() => sender.Mailbox("sender.test", "alice").FirstOrDefault(), "the expiry bounce");
        Assert.Contains("Final-Recipient: rfc822; bob@remote.test\nAction: failed\nStatus: 4.4.7\n", bounce, StringComparison.Ordinal);
        Assert.Contains("message expired: " + refused, bounce, StringComparison.Ordinal);
        Assert.Matches(@"to=<bob@remote\.test>, relay=none, .*status=expired, returned to sender", sender.Maillog);
        await Poll.UntilAsync(() => !sender.Host.Spool.ListIds().Any(), "the queue to empty");
    }

    [Fact]
    public async Task DelayWarningReachesTheSenderOnceWhileMailWaits()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var port = LoopbackAddresses.FreePort(address);
        var sender = await s.StartSenderAsync($"relayhost = [{address}]:{port}\ndelay_warning_time = 1s");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("slow"));

        var warning = await Poll.UntilAsync(() => sender.Mailbox("sender.test", "alice").FirstOrDefault(), "the delay warning");
        Assert.Contains("Subject: Delayed Mail (still being retried)", warning, StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; bob@remote.test\nAction: delayed\nStatus: 4.4.7\n", warning, StringComparison.Ordinal);
        // Later attempts send no second warning, and the message stays queued.
        await Poll.UntilAsync(() => Regex.Matches(sender.Maillog, "status=deferred").Count >= 3, "two more attempts");
        Assert.Single(sender.Mailbox("sender.test", "alice"));
        Assert.Single(sender.Host.Spool.ListIds(), id => sender.Host.Spool.Open(id, out _)?.Envelope.IsBounce == false);
    }

    [Fact]
    public async Task BounceForNullSenderIsNeverSent()
    {
        await using var s = new OutboundScenario();
        s.Dns.AddNullMx("nomail.test");
        var sender = await s.StartSenderAsync("");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "", ["x@nomail.test"], OutboundScenario.Message("from nobody"));

        await Poll.UntilAsync(() => sender.Maillog.Contains("sender is the null address; no notification for <x@nomail.test>", StringComparison.Ordinal), "the bounce decision");
        await Poll.UntilAsync(() => !sender.Host.Spool.ListIds().Any(), "the queue to empty");
        Assert.Empty(sender.Mailbox("sender.test", "alice"));
        Assert.Contains("dsn=5.1.10, status=bounced", sender.Maillog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestartDeliversMailDeferredBeforeTheStop()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var port = LoopbackAddresses.FreePort(address);
        var sender = await s.StartSenderAsync($"relayhost = [{address}]:{port}");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("survives a restart"));
        await Poll.UntilAsync(() => sender.Maillog.Contains("status=deferred (connect to", StringComparison.Ordinal), "the deferral");
        await sender.StopAsync();
        Assert.Single(sender.Host.Spool.ListIds());

        var peer = await s.StartPeerAsync(address, port: port);
        await sender.StartAgainAsync();

        var delivered = await Poll.UntilAsync(() => peer.Mailbox("remote.test", "bob").FirstOrDefault(), "delivery after the restart");
        Assert.Contains("Subject: survives a restart", delivered, StringComparison.Ordinal);
        await Poll.UntilAsync(() => !sender.Host.Spool.ListIds().Any(), "the queue to empty");
    }

    /// <summary>Runs the omoikane command line (built beside the tests) and returns its standard output.</summary>
    private static async Task<string> RunCliAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "omoikane.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, await stderr);
        return await stdout;
    }
}
