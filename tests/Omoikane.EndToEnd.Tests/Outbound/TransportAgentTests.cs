using System.Text.RegularExpressions;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>
/// transport_maps entries for Postfix's error(8), retry and discard(8) agents: the optional RFC 3463 status
/// before the text, the default status of each, the empty next hop (the recipient domain), and the log lines.
/// </summary>
public sealed class TransportAgentTests
{
    [Fact]
    public async Task ErrorEntryWithAStatusBouncesWithThatStatusAndText()
    {
        await using var s = new OutboundScenario();
        var sender = await s.StartSenderAsync("transport_maps = inline:{ {closed.test = error:5.7.1 this domain is closed} }\nsmtpd_reject_unlisted_recipient = no");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["x@closed.test"], OutboundScenario.Message("closed"));

        var bounce = await Poll.UntilAsync(() => sender.Mailbox("sender.test", "alice").FirstOrDefault(), "the bounce");
        Assert.Contains("Final-Recipient: rfc822; x@closed.test\nAction: failed\nStatus: 5.7.1\n", bounce, StringComparison.Ordinal);
        Assert.Contains("<x@closed.test>: this domain is closed", bounce, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(sender.Maillog,
            @"error\[\d+\]: \w+: to=<x@closed\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=5\.7\.1, status=bounced \(this domain is closed\)"));
    }

    [Fact]
    public async Task DiscardEntriesDropTheMailLoggingTheReasonOrTheDomain()
    {
        await using var s = new OutboundScenario();
        var sender = await s.StartSenderAsync("transport_maps = inline:{ {gone.test = discard:silently dropped}, void.test=discard: }");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["x@gone.test", "y@void.test"], OutboundScenario.Message("dropped"));

        await Poll.UntilAsync(() => !sender.Host.Spool.ListIds().Any(), "the queue to empty");
        await Poll.UntilAsync(() => Regex.Matches(sender.Maillog, "status=sent").Count >= 2, "both log lines");
        Assert.Matches(@"discard\[\d+\]: \w+: to=<x@gone\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(silently dropped\)", sender.Maillog);
        Assert.Matches(@"discard\[\d+\]: \w+: to=<y@void\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(void\.test\)", sender.Maillog);
        Assert.Empty(sender.Mailbox("sender.test", "alice"));
    }

    [Fact]
    public async Task RetryEntriesDeferWithTheirStatusAndKeepTheMailQueued()
    {
        await using var s = new OutboundScenario();
        var sender = await s.StartSenderAsync("transport_maps = inline:{ {later.test = retry:4.3.2 come back later}, {soon.test = retry:not now} }\nsmtpd_reject_unlisted_recipient = no");

        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["x@later.test", "y@soon.test"], OutboundScenario.Message("later"));

        await Poll.UntilAsync(() => Regex.Matches(sender.Maillog, @"to=<x@later\.test>.*status=deferred").Count >= 2, "two attempts");
        Assert.Matches(@"error\[\d+\]: \w+: to=<x@later\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=4\.3\.2, status=deferred \(come back later\)", sender.Maillog);
        Assert.Matches(@"error\[\d+\]: \w+: to=<y@soon\.test>, relay=none, delay=[\d.]+, delays=[\d./]+, dsn=4\.0\.0, status=deferred \(not now\)", sender.Maillog);
        Assert.Single(sender.Host.Spool.ListIds());
        Assert.Empty(sender.Mailbox("sender.test", "alice"));
    }

    [Fact]
    public async Task RecipientsRoutedToErrorOrRetryAreRefusedAtRcpt()
    {
        await using var s = new OutboundScenario();
        var sender = await s.StartSenderAsync(
            "transport_maps = inline:{ {closed.test = error:5.7.1 this domain is closed}, {gone.test = error:no such domain}, {later.test = retry:not now}, open.test=discard: }");

        await using var c = await RawSmtpClient.ConnectAsync(sender.SmtpEndPoint);
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250", await c.CommandAsync("EHLO client.sender.test"));
        Assert.StartsWith("250", await c.CommandAsync("MAIL FROM:<alice@sender.test>"));
        Assert.Equal("550 5.7.1 <x@closed.test>: Recipient address rejected: this domain is closed", await c.CommandAsync("RCPT TO:<x@closed.test>"));
        Assert.Equal("550 5.1.1 <x@gone.test>: Recipient address rejected: no such domain", await c.CommandAsync("RCPT TO:<x@gone.test>"));
        Assert.Equal("450 4.1.1 <x@later.test>: Recipient address rejected: not now", await c.CommandAsync("RCPT TO:<x@later.test>"));
        Assert.StartsWith("250", await c.CommandAsync("RCPT TO:<x@open.test>"));
        await Poll.UntilAsync(() => Regex.IsMatch(sender.Maillog,
            @"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 <x@closed\.test>: Recipient address rejected: this domain is closed; from=<alice@sender\.test> to=<x@closed\.test>"),
            "the reject line");
    }
}
