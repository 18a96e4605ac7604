using System.Net;
using MimeKit;
using MimeKit.Cryptography;
using Omoikane.EndToEnd.Tests.Dns;
using Omoikane.EndToEnd.Tests.Support;
using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Authentication;

/// <summary>
/// DKIM signing of our own mail and SPF/DKIM/DMARC checks of mail from outside, through a running server
/// whose every lookup goes to a DNS server on loopback. 127.0.0.1 is mynetworks; 127.0.0.2 is outside.
/// </summary>
public sealed class AuthenticationEndToEndTests
{
    private const string Inside = "127.0.0.1";
    private const string Outside = "127.0.0.2";

    private static async Task<(DnsPolicyServer Server, DkimGeneratedKey Key)> StartAsync(Action<LoopbackDnsServer> zone, DkimKeyType type = DkimKeyType.Rsa, string extra = "")
    {
        var key = DkimKeyGenerator.Generate(type);
        var server = await DnsPolicyServer.StartAsync(dns =>
        {
            dns.AddTxt("mail._domainkey.example.test", key.TxtRecord);
            zone(dns);
        }, $"""
            smtpd_authentication_checks = yes
            smtpd_dmarc_reject = yes
            dkim_signing_domains = example.test
            dkim_key_directory = DIR
            {extra}
            """, new Dictionary<string, string> { ["example.test.mail.key"] = key.PrivateKeyPem });
        return (server, key);
    }

    /// <summary>MAIL, RCPT, DATA with <paramref name="message"/> (LF line ends, sent as CRLF); the reply to the final dot.</summary>
    private static async Task<string> SendAsync(DnsPolicyServer server, string source, string sender, string message)
    {
        await using var client = await server.ConnectAsync(source);
        Assert.StartsWith("250 ", await client.CommandAsync($"MAIL FROM:<{sender}>"));
        Assert.StartsWith("250 ", await client.CommandAsync($"RCPT TO:<{DnsPolicyServer.User}>"));
        Assert.StartsWith("354 ", await client.CommandAsync("DATA"));
        return await client.CommandAsync(message.ReplaceLineEndings("\r\n").TrimEnd('\n', '\r') + "\r\n.");
    }

    private static async Task<string> DeliveredAsync(DnsPolicyServer server)
    {
        var dir = Path.Combine(server.Host.Config.MailboxBase, "example.test", "user", "new");
        var deadline = DateTime.UtcNow + DnsPolicyServer.Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Directory.Exists(dir) && Directory.GetFiles(dir) is [var file])
            {
                // Local delivery adds Return-Path and Delivered-To above what the queue holds.
                var text = await File.ReadAllTextAsync(file);
                while (text.StartsWith("Return-Path:", StringComparison.Ordinal) || text.StartsWith("Delivered-To:", StringComparison.Ordinal))
                    text = text[(text.IndexOf('\n') + 1)..];
                return text;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"no message delivered to {dir} within {DnsPolicyServer.Timeout.TotalSeconds} s");
        return "";
    }

    private static IDnsResolver Resolver(LoopbackDnsServer dns)
        => new DnsResolver(new DnsResolverOptions([dns.EndPoint], TimeSpan.FromSeconds(2), 1), TimeProvider.System);

    [SkippableTheory]
    [InlineData(DkimKeyType.Rsa)]
    [InlineData(DkimKeyType.Ed25519)]
    public async Task MailFromMynetworksIsSignedAndVerifies(DkimKeyType type)
    {
        var (server, _) = await StartAsync(_ => { }, type);
        await using (server)
        {
            // No Date or Message-ID: the server adds both, and signs them.
            var reply = await SendAsync(server, Inside, DnsPolicyServer.User,
                $"From: Our User <{DnsPolicyServer.User}>\nTo: {DnsPolicyServer.User}\nSubject: signed by the server\n\nHello  there.\n\n\n");
            Assert.StartsWith("250 ", reply);
            var stored = await DeliveredAsync(server);
            Assert.StartsWith("DKIM-Signature:", stored);
            var field = stored[..stored.IndexOf("\nReceived:", StringComparison.Ordinal)];
            Assert.Matches(@"h=[^;]*\bdate\b", field.ToLowerInvariant());
            Assert.Matches(@"h=[^;]*\bmessage-id\b", field.ToLowerInvariant());
            Assert.Contains("c=relaxed/relaxed", field);
            Assert.DoesNotContain("Authentication-Results", stored);
            await server.WaitForLogLineAsync("DKIM-Signature field added (d=example.test s=mail)");

            // MimeKit's verifier, keys from the loopback DNS server.
            var message = await MimeMessage.LoadAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(stored)));
            var verifier = new DkimVerifier(new DkimDnsKeyLocator(Resolver(server.Dns)));
            verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
            Assert.True(await verifier.VerifyAsync(message, message.Headers.First(h => h.Id == HeaderId.DkimSignature)));

            // dkimpy, an independent implementation, also asking the loopback DNS server.
            await DkimpyVerifier.AssertVerifiesAsync(stored, server.Dns.EndPoint);
        }
    }

    [Fact]
    public async Task DmarcRejectFailureIsRefusedAtEndOfData()
    {
        var (server, _) = await StartAsync(dns => dns
            .AddTxt("bank.example", "v=spf1 ip4:192.0.2.0/24 -all")
            .AddTxt("_dmarc.bank.example", "v=DMARC1; p=reject"));
        await using (server)
        {
            var reply = await SendAsync(server, Outside, "ceo@bank.example",
                "From: CEO <ceo@bank.example>\nTo: user@example.test\nSubject: wire money\n\nNow.\n");
            Assert.StartsWith("550 5.7.1 ", reply);
            var log = await server.WaitForLogLineAsync("reject: END-OF-MESSAGE from unknown[127.0.0.2]: 550 5.7.1");
            Assert.Contains("from=<ceo@bank.example>", log);
            Assert.Contains("proto=ESMTP", log);
            Assert.Empty(server.Host.Spool.ListIds());
        }
    }

    [Fact]
    public async Task DmarcNoneFailureIsMarkedAndForgedResultsRemoved()
    {
        var (server, _) = await StartAsync(dns => dns
            .AddTxt("shop.example", "v=spf1 ip4:192.0.2.0/24 -all")
            .AddTxt("_dmarc.shop.example", "v=DMARC1; p=none"));
        await using (server)
        {
            var reply = await SendAsync(server, Outside, "news@shop.example",
                "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=news@shop.example;\n dmarc=pass header.from=shop.example\n" +
                "Authentication-Results: other.example; spf=pass\n" +
                "From: news@shop.example\nTo: user@example.test\nSubject: offers\n\nBuy.\n");
            Assert.StartsWith("250 ", reply);
            var stored = await DeliveredAsync(server);
            var headers = stored[..stored.IndexOf("\n\n", StringComparison.Ordinal)];
            Assert.StartsWith("Authentication-Results: mx.example.test;\n\tspf=fail smtp.mailfrom=news@shop.example;\n\tdkim=none;\n\tdmarc=fail (p=none dis=none) header.from=shop.example\nReceived: ", headers);
            Assert.Single(headers.Split('\n'), l => l.StartsWith("Authentication-Results: mx.example.test", StringComparison.Ordinal));
            Assert.DoesNotContain("dmarc=pass", headers);
            Assert.Contains("Authentication-Results: other.example; spf=pass", headers);
        }
    }

    [Fact]
    public async Task MailSignedElsewhereVerifiesAndPassesDmarcThroughDkim()
    {
        // partner.example signs with its own key; SPF fails (the client is not listed), DKIM carries DMARC.
        var partnerKey = DkimKeyGenerator.Generate(DkimKeyType.Rsa);
        var (server, _) = await StartAsync(dns => dns
            .AddTxt("sel1._domainkey.partner.example", partnerKey.TxtRecord)
            .AddTxt("partner.example", "v=spf1 ip4:192.0.2.0/24 -all")
            .AddTxt("_dmarc.partner.example", "v=DMARC1; p=reject; adkim=s"));
        await using (server)
        {
            var message = await MimeMessage.LoadAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
                "From: p@partner.example\nTo: user@example.test\nSubject: partner mail\nDate: Sat, 28 Nov 2026 02:24:06 +0000\nMessage-ID: <p1@partner.example>\n\nSigned elsewhere.\n")));
            var signer = new DkimSigner(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(partnerKey.PrivateKeyPem)), "partner.example", "sel1", DkimSignatureAlgorithm.RsaSha256)
            {
                HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Simple,
            };
            signer.Sign(message, ["From", "To", "Subject", "Date", "Message-ID"]);
            var text = message.ToString();

            Assert.StartsWith("250 ", await SendAsync(server, Outside, "bounce@partner.example", text));
            var stored = await DeliveredAsync(server);
            Assert.StartsWith("Authentication-Results: mx.example.test;\n\tspf=fail smtp.mailfrom=bounce@partner.example;\n\tdkim=pass header.d=partner.example header.s=sel1 header.a=rsa-sha256;\n\tdmarc=pass (p=reject dis=none) header.from=partner.example\n", stored);
            await server.WaitForLogLineAsync("authentication: spf=fail (partner.example) dkim=pass(partner.example) dmarc=pass (partner.example)");
        }
    }

    [Fact]
    public async Task SpfPassFromOutsideIsRecorded()
    {
        var (server, _) = await StartAsync(dns => dns.AddTxt("friend.example", $"v=spf1 ip4:{Outside} -all"));
        await using (server)
        {
            Assert.StartsWith("250 ", await SendAsync(server, Outside, "a@friend.example", "From: a@friend.example\nSubject: hi\n\nHi.\n"));
            var stored = await DeliveredAsync(server);
            Assert.StartsWith("Authentication-Results: mx.example.test;\n\tspf=pass smtp.mailfrom=a@friend.example;\n\tdkim=none;\n\tdmarc=none header.from=friend.example\n", stored);
        }
    }
}
