using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Dns;

/// <summary>
/// The DNS restrictions end to end: a real DNS server on loopback, the server resolving through it,
/// clients on their own 127.x.y.z addresses. Each case checks the reply code, the enhanced code and
/// the maillog line, as an administrator reading maillog would see them.
/// </summary>
public sealed class DnsRestrictionTests
{
    private const string UnknownClient = "smtpd_client_restrictions = reject_unknown_client_hostname";

    private static string Reject(string client, string reply, string sender = DnsPolicyServer.Sender, string helo = DnsPolicyServer.Helo)
        => $"NOQUEUE: reject: RCPT from {client}: {reply}; from=<{sender}> to=<{DnsPolicyServer.User}> proto=ESMTP helo=<{helo}>";

    [Fact]
    public async Task ClientWithoutPtrIsDeferredAsUnknown()
    {
        await using var server = await DnsPolicyServer.StartAsync(_ => { }, UnknownClient);

        var reply = await server.RcptReplyAsync("127.0.0.9");

        const string expected = "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.9]";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.0.9]", expected), await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.9]"));
        Assert.True(server.Dns.PtrQueryCount("127.0.0.9") >= 1, "the server never asked the loopback DNS server for the PTR record");
    }

    [Fact]
    public async Task ClientWhosePtrNameDoesNotResolveBackIsUnknown()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.AddPtr("127.0.0.12", "host.example.org").AddA("host.example.org", "127.0.0.99"), UnknownClient);

        var reply = await server.RcptReplyAsync("127.0.0.12");

        const string expected = "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.12]";
        Assert.Equal(expected, reply);
        Assert.EndsWith("connect from unknown[127.0.0.12]", await server.WaitForLogLineAsync("connect from unknown[127.0.0.12]"));
        Assert.EndsWith(Reject("unknown[127.0.0.12]", expected), await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.12]"));
        Assert.True(server.Dns.QueryCount("host.example.org", DnsType.A) >= 1, "the PTR name was never looked up forward");
    }

    [Fact]
    public async Task ForwardConfirmedClientIsAcceptedAndNamedInReceivedHeaderAndLog()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.AddPtr("127.0.0.11", "client.example.org").AddA("client.example.org", "127.0.0.11"), UnknownClient);

        using (var smtp = new SmtpClient { LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.0.0.11"), 0), LocalDomain = "helo.example.org", Timeout = (int)DnsPolicyServer.Timeout.TotalMilliseconds })
        {
            await smtp.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse(DnsPolicyServer.Sender));
            message.To.Add(MailboxAddress.Parse(DnsPolicyServer.User));
            message.Subject = "forward-confirmed";
            message.Body = new TextPart("plain") { Text = "hello" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        var queued = await server.WaitForLogLineAsync(": client=client.example.org[127.0.0.11]");
        Assert.Matches(@"smtpd\[\d+\]: [0-9A-Z]+: client=client\.example\.org\[127\.0\.0\.11\]$", queued);
        await server.WaitForLogLineAsync("connect from client.example.org[127.0.0.11]");
        var delivered = await WaitForDeliveryAsync(Path.Combine(server.Host.Config.MailboxBase, "example.test", "user", "new"));
        var received = delivered.Split('\n').First(l => l.StartsWith("Received: ", StringComparison.Ordinal));
        Assert.Equal("Received: from helo.example.org (client.example.org [127.0.0.11])", received);
    }

    [Fact]
    public async Task ServfailOnPtrDefersEvenWhenUnknownClientRejectCodeIs550()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.SetPtrBehavior("127.0.0.13", DnsBehavior.ServFail).AddPtr("127.0.0.23", "nowhere.example.org"),
            UnknownClient + "\nunknown_client_reject_code = 550");

        var reply = await server.RcptReplyAsync("127.0.0.13");
        // The same configuration rejects for good when the answer is definite.
        var definite = await server.RcptReplyAsync("127.0.0.23");

        const string expected = "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.13]";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.0.13]", expected), await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.13]"));
        Assert.Equal("550 5.7.25 Client host rejected: cannot find your hostname, [127.0.0.23]", definite);
    }

    [Fact]
    public async Task DnsTimeoutOnPtrDefers()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.SetPtrBehavior("127.0.0.14", DnsBehavior.NeverAnswer),
            UnknownClient + "\ndns_timeout = 1s\nunknown_client_reject_code = 550");

        var reply = await server.RcptReplyAsync("127.0.0.14");

        const string expected = "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.14]";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.0.14]", expected), await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.14]"));
        Assert.True(server.Dns.PtrQueryCount("127.0.0.14") >= 1, "the PTR query never reached the DNS server");
    }

    [Fact]
    public async Task ClientAccessOkBeforeTheHostnameCheckLetsThatClientIn()
    {
        await using var server = await DnsPolicyServer.StartAsync(_ => { },
            "smtpd_client_restrictions = check_client_access texthash:DIR/client_access, reject_unknown_client_hostname",
            new Dictionary<string, string> { ["client_access"] = "# the ISP whose DNS is broken\n127.0.0.9 OK\n" });

        var allowed = await server.RcptReplyAsync("127.0.0.9");
        var other = await server.RcptReplyAsync("127.0.0.19");

        Assert.Equal("250 2.1.5 Ok", allowed);
        Assert.Equal("450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.19]", other);
        await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.19]");
        Assert.Matches(@"[0-9A-Z]+: client=unknown\[127\.0\.0\.9\]$", await server.WaitForLogLineAsync(": client=unknown[127.0.0.9]"));
        Assert.DoesNotContain("reject: RCPT from unknown[127.0.0.9]", await File.ReadAllTextAsync(server.MaillogPath));
    }

    [Fact]
    public async Task ListedClientIsRejectedByTheRblAndUnlistedOneAccepted()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.AddA("9.2.0.127.rbl.example.net", "127.0.0.2").AddTxt("9.2.0.127.rbl.example.net", "listed, see https://rbl.example.net/127.0.2.9"),
            "smtpd_client_restrictions = reject_rbl_client rbl.example.net");

        var listed = await server.RcptReplyAsync("127.0.2.9");
        var unlisted = await server.RcptReplyAsync("127.0.2.10");

        const string expected = "554 5.7.1 Service unavailable; Client host [127.0.2.9] blocked using rbl.example.net; listed, see https://rbl.example.net/127.0.2.9";
        Assert.Equal(expected, listed);
        Assert.EndsWith(Reject("unknown[127.0.2.9]", expected), await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.2.9]"));
        Assert.Equal("250 2.1.5 Ok", unlisted);
        Assert.True(server.Dns.QueryCount("10.2.0.127.rbl.example.net", DnsType.A) >= 1, "the unlisted client was never looked up in the zone");
    }

    [Fact]
    public async Task SenderDomainThatDoesNotExistIsDeferred()
    {
        await using var server = await DnsPolicyServer.StartAsync(_ => { }, "smtpd_sender_restrictions = reject_unknown_sender_domain");

        var reply = await server.RcptReplyAsync("127.0.3.1", sender: "someone@nosuch.example.org");

        const string expected = "450 4.1.8 <someone@nosuch.example.org>: Sender address rejected: Domain not found";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.3.1]", expected, sender: "someone@nosuch.example.org"),
            await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.3.1]"));
    }

    [Fact]
    public async Task SenderDomainWithNullMxIsRejected()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.AddNullMx("nomail.example.org").AddA("nomail.example.org", "192.0.2.1").AddMx("mail.example.org", 10, "mx.mail.example.org"),
            "smtpd_sender_restrictions = reject_unknown_sender_domain");

        var reply = await server.RcptReplyAsync("127.0.3.2", sender: "someone@nomail.example.org");
        var withMx = await server.RcptReplyAsync("127.0.3.3", sender: "someone@mail.example.org");

        const string expected = "550 5.7.27 <someone@nomail.example.org>: Sender address rejected: Domain nomail.example.org does not accept mail (nullMX)";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.3.2]", expected, sender: "someone@nomail.example.org"),
            await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.3.2]"));
        Assert.Equal("250 2.1.5 Ok", withMx);
    }

    [Fact]
    public async Task HeloNameWithoutAddressOrMxIsDeferred()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.AddA("known.example.org", "192.0.2.7"), "smtpd_helo_restrictions = reject_unknown_helo_hostname");

        var reply = await server.RcptReplyAsync("127.0.4.1", helo: "unknown.example.org");
        var known = await server.RcptReplyAsync("127.0.4.2", helo: "known.example.org");

        const string expected = "450 4.7.1 <unknown.example.org>: Helo command rejected: Host not found";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.4.1]", expected, helo: "unknown.example.org"),
            await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.4.1]"));
        Assert.Equal("250 2.1.5 Ok", known);
    }

    [Fact]
    public async Task SenderWithoutFullyQualifiedDomainIsRejected()
    {
        await using var server = await DnsPolicyServer.StartAsync(_ => { }, "smtpd_sender_restrictions = reject_non_fqdn_sender");

        var reply = await server.RcptReplyAsync("127.0.5.1", sender: "someone@localhost");

        const string expected = "504 5.5.2 <someone@localhost>: Sender address rejected: need fully-qualified address";
        Assert.Equal(expected, reply);
        Assert.EndsWith(Reject("unknown[127.0.5.1]", expected, sender: "someone@localhost"),
            await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.5.1]"));
    }

    private static async Task<string> WaitForDeliveryAsync(string maildirNew)
    {
        var deadline = DateTime.UtcNow + DnsPolicyServer.Timeout;
        while (true)
        {
            var file = Directory.Exists(maildirNew) ? Directory.EnumerateFiles(maildirNew).FirstOrDefault() : null;
            if (file is not null) return await File.ReadAllTextAsync(file);
            if (DateTime.UtcNow > deadline) Assert.Fail($"nothing delivered to {maildirNew} within {DnsPolicyServer.Timeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }
}
