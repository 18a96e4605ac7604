using System.Text.RegularExpressions;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>Mail relayed by Omoikane's SMTP client arrives at a real receiving server on loopback.</summary>
public sealed class OutboundDeliveryTests
{
    [Fact]
    public async Task MessageArrivesByteForByteThroughTransportMaps()
    {
        await using var s = new OutboundScenario();
        var peerAddress = LoopbackAddresses.Next();
        var peer = await s.StartPeerAsync(peerAddress);
        var port = peer.SmtpEndPoint.Port;
        var sender = await s.StartSenderAsync($"transport_maps = inline:{{ remote.test=smtp:[{peerAddress}]:{port} }}");

        // Lines that need dot-stuffing, a lone dot, 8-bit text, a long line, and no final newline trouble.
        var message = OutboundScenario.Message("byte for byte",
            ".leading dot\n.\n..two dots\nUnicode: caf\u00e9 \u65e5\u672c\n" + new string('x', 900) + "\nlast line\n");
        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], message);

        var delivered = await Poll.UntilAsync(() => peer.Mailbox("remote.test", "bob").FirstOrDefault(), "delivery to the peer");
        Assert.EndsWith(message, delivered, StringComparison.Ordinal);
        // Peer's Return-Path and Delivered-To, the peer's Received header, the sender's Received header, then the message.
        Assert.StartsWith("Return-Path: <alice@sender.test>\n", delivered, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(delivered, "^Received: ", RegexOptions.Multiline).Count);
        Assert.Contains("by sender.test", delivered, StringComparison.Ordinal);

        var log = await Poll.UntilAsync(() => Regex.Match(sender.Maillog, @"postfix-omoikane/smtp\[\d+\]: \w+: to=<bob@remote\.test>, relay=(\S+), delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \((250 2\.0\.0 [^)]*)\)") is { Success: true } m ? m : null, "the sent log line");
        Assert.Equal($"{peerAddress}[{peerAddress}]:{port}", log.Groups[1].Value);
        Assert.Matches(@"^250 2\.0\.0 Ok: queued as \w+$", log.Groups[2].Value);
        await Poll.UntilAsync(() => !sender.Host.Spool.ListIds().Any(), "the queue to empty");
    }

    [Fact]
    public async Task RelayhostCarriesMailAndSubmittedMailGetsDateAndMessageId()
    {
        await using var s = new OutboundScenario();
        var peerAddress = LoopbackAddresses.Next();
        var peer = await s.StartPeerAsync(peerAddress);
        var sender = await s.StartSenderAsync($"relayhost = [{peerAddress}]:{peer.SmtpEndPoint.Port}");

        var message = "From: alice@sender.test\nTo: bob@remote.test\nSubject: no date\n\nbody\n";
        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], message);

        var delivered = await Poll.UntilAsync(() => peer.Mailbox("remote.test", "bob").FirstOrDefault(), "delivery via relayhost");
        var headers = delivered[..delivered.IndexOf("\n\n", StringComparison.Ordinal)];
        Assert.Matches(@"(?m)^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", headers);
        Assert.Matches(@"(?m)^Message-ID: <[^@>]+@sender\.test>$", headers);
        Assert.EndsWith("\n\nbody\n", delivered, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartTlsIsUsedWithThePeerAndRequiredWhenEncrypt()
    {
        await using var s = new OutboundScenario();
        var tlsAddress = LoopbackAddresses.Next();
        var tlsPeer = await s.StartPeerAsync(tlsAddress, "smtpd_tls_security_level = may\nsmtpd_tls_received_header = yes");
        var plainAddress = LoopbackAddresses.Next();
        var plainPeer = await s.StartPeerAsync(plainAddress);
        var sender = await s.StartSenderAsync("smtp_tls_security_level = encrypt\n"
            + $"transport_maps = inline:{{ remote.test=smtp:[{tlsAddress}]:{tlsPeer.SmtpEndPoint.Port}, plain.test=smtp:[{plainAddress}]:{plainPeer.SmtpEndPoint.Port} }}");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("tls"));
        var delivered = await Poll.UntilAsync(() => tlsPeer.Mailbox("remote.test", "bob").FirstOrDefault(), "delivery over TLS");
        Assert.Matches(@"\(using TLSv1\.[23] with cipher \w+\)", delivered);

        // The plain peer offers no STARTTLS: with encrypt the message must wait, never go in clear.
        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@plain.test"], OutboundScenario.Message("must wait"));
        await Poll.UntilAsync(() => sender.Maillog.Contains($"to=<bob@plain.test>, relay={plainAddress}[{plainAddress}]:{plainPeer.SmtpEndPoint.Port},")
            && sender.Maillog.Contains($"dsn=4.7.4, status=deferred (TLS is required, but was not offered by host {plainAddress}[{plainAddress}])"), "the TLS deferral");
        Assert.Empty(plainPeer.Mailbox("remote.test", "bob"));
        Assert.DoesNotContain("from=<alice@sender.test>", plainPeer.Maillog, StringComparison.Ordinal);
    }
}
