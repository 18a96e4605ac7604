using System.Text.RegularExpressions;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>MX routing against a real DNS server on loopback: preference order, fallback, null MX, unknown domains.</summary>
public sealed class OutboundRoutingTests
{
    [Fact]
    public async Task MxHostsAreTriedInPreferenceOrderFallingBackWhenRefused()
    {
        await using var s = new OutboundScenario();
        var peerAddress = LoopbackAddresses.Next();
        var peer = await s.StartPeerAsync(peerAddress);
        var port = peer.SmtpEndPoint.Port;
        var downAddress = LoopbackAddresses.Next();     // nothing listens: connection refused
        var rejectAddress = LoopbackAddresses.Next();   // would bounce everything if tried before the peer
        var rejecting = new ScriptedSmtpPeer(rejectAddress, port, _ => "550 5.7.1 wrong MX chosen");
        s.Own(rejecting);
        s.Dns.AddMx("remote.test", 30, "mx3.remote.test").AddA("mx3.remote.test", rejectAddress)
             .AddMx("remote.test", 5, "mx1.remote.test").AddA("mx1.remote.test", downAddress)
             .AddMx("remote.test", 10, "mx2.remote.test").AddA("mx2.remote.test", peerAddress);
        var sender = await s.StartSenderAsync($"smtp_mx_port = {port}");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("mx order"));

        await Poll.UntilAsync(() => peer.Mailbox("remote.test", "bob").FirstOrDefault(), "delivery to the second MX");
        await Poll.UntilAsync(() => sender.Maillog.Contains($"to=<bob@remote.test>, relay=mx2.remote.test[{peerAddress}]:{port},"), "the sent line naming mx2");
        Assert.Equal(0, rejecting.Connections);
        Assert.Contains("status=sent", sender.Maillog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NullMxAndUnknownDomainsBounceToTheLocalSender()
    {
        await using var s = new OutboundScenario();
        s.Dns.AddNullMx("nomail.test");  // unknown.test is not in the zone: NXDOMAIN
        var sender = await s.StartSenderAsync("");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["carol@nomail.test", "dave@unknown.test"], OutboundScenario.Message("nowhere"));

        var bounce = await Poll.UntilAsync(() => sender.Mailbox("sender.test", "alice").FirstOrDefault(), "the bounce in alice's mailbox");
        Assert.Contains("Content-Type: multipart/report; report-type=delivery-status;", bounce, StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; carol@nomail.test\nAction: failed\nStatus: 5.1.10\n", bounce, StringComparison.Ordinal);
        Assert.Contains("Final-Recipient: rfc822; dave@unknown.test\nAction: failed\nStatus: 5.4.4\n", bounce, StringComparison.Ordinal);
        Assert.Contains("Domain nomail.test does not accept mail (nullMX)", bounce, StringComparison.Ordinal);
        Assert.Contains("Host or domain name not found. Name service error for name=unknown.test type=MX: Host not found", bounce, StringComparison.Ordinal);
        Assert.Matches(@"to=<carol@nomail\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=5\.1\.10, status=bounced \(Domain nomail\.test does not accept mail \(nullMX\)\)", sender.Maillog);
    }

    [Fact]
    public async Task TransportMapsErrorEntryBouncesWithItsText()
    {
        await using var s = new OutboundScenario();
        // Refused at RCPT by default (TransportAgentTests); with the RCPT check off the error agent bounces it.
        var sender = await s.StartSenderAsync("transport_maps = inline:{ {closed.test = error:this domain is closed} }\nsmtpd_reject_unlisted_recipient = no");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["x@closed.test"], OutboundScenario.Message("closed"));

        var bounce = await Poll.UntilAsync(() => sender.Mailbox("sender.test", "alice").FirstOrDefault(), "the bounce");
        Assert.Contains("Final-Recipient: rfc822; x@closed.test\nAction: failed\nStatus: 5.0.0\n", bounce, StringComparison.Ordinal);
        Assert.Contains("<x@closed.test>: this domain is closed", bounce, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(sender.Maillog, @"to=<x@closed\.test>, relay=none, .* dsn=5\.0\.0, status=bounced \(this domain is closed\)"));
    }

    [Fact]
    public async Task TransportMapsLocalEntryDeliversToTheLocalMailbox()
    {
        await using var s = new OutboundScenario();
        var sender = await s.StartSenderAsync("transport_maps = inline:{ other.test=local: }");
        sender.Host.Users.Add("bob@other.test", "secret-bob-2");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@other.test"], OutboundScenario.Message("kept here"));

        var delivered = await Poll.UntilAsync(() => sender.Mailbox("other.test", "bob").FirstOrDefault(), "local delivery");
        Assert.Contains("Subject: kept here", delivered, StringComparison.Ordinal);
        Assert.Matches(@"local\[\d+\]: \w+: to=<bob@other\.test>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to maildir\)", sender.Maillog);
    }

    [Fact]
    public async Task ConnectionIsReusedForTheNextMessageToTheSameServer()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var peer = new ScriptedSmtpPeer(address, 0, _ => "250 2.1.5 Ok");
        s.Own(peer);
        var sender = await s.StartSenderAsync($"relayhost = [{address}]:{peer.EndPoint.Port}\nsmtp_connection_cache_time_limit = 10s");

        for (int i = 1; i <= 3; i++)
        {
            await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message($"message {i}"));
            var n = i;
            await Poll.UntilAsync(() => peer.Messages.Count == n, $"message {i} at the peer");
        }
        Assert.Equal(1, peer.Connections);
        Assert.Equal(2, peer.Commands.Count(c => c == "RSET"));
    }
}
