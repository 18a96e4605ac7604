using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Auth;

/// <summary>SMTP AUTH with every mechanism, over STARTTLS and implicit TLS, with MailKit as the client.</summary>
public sealed class SmtpAuthTests
{
    private const string Submission = "127.0.0.1:587";
    private const string Submissions = "127.0.0.1:465";

    private static MimeMessage Message(string to)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("alice@example.test"));
        m.To.Add(MailboxAddress.Parse(to));
        m.Subject = "auth test";
        m.Body = new TextPart("plain") { Text = "hello\n" };
        return m;
    }

    private static async Task<SmtpClient> ConnectAsync(TestServer server, string service, SecureSocketOptions tls)
    {
        var client = new SmtpClient { LocalDomain = "laptop.example", ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15000 };
        await client.ConnectAsync("127.0.0.1", server.Port(service), tls);
        return client;
    }

    public static TheoryData<string> Mechanisms => new() { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task EachMechanismAuthenticatesAndRelays(string mechanism)
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32");
        server.AddUser("alice@example.test", "correct horse");
        using var client = await ConnectAsync(server, Submission, SecureSocketOptions.StartTls);
        Assert.Contains(mechanism, client.AuthenticationMechanisms);
        SaslMechanism sasl = mechanism switch
        {
            "PLAIN" => new SaslMechanismPlain("alice@example.test", "correct horse"),
            "LOGIN" => new SaslMechanismLogin("alice@example.test", "correct horse"),
            "CRAM-MD5" => new SaslMechanismCramMd5("alice@example.test", "correct horse"),
            _ => new SaslMechanismScramSha256("alice@example.test", "correct horse"),
        };
        await client.AuthenticateAsync(sasl);
        await client.SendAsync(Message("friend@elsewhere.example"));
        await client.DisconnectAsync(true);
        await server.WaitForLogAsync($"sasl_method={mechanism}, sasl_username=alice@example.test");
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public async Task WrongPasswordIsRefusedAndLoggedForFail2ban(string mechanism)
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "correct horse");
        using var client = await ConnectAsync(server, Submission, SecureSocketOptions.StartTls);
        SaslMechanism sasl = mechanism switch
        {
            "PLAIN" => new SaslMechanismPlain("alice@example.test", "wrong"),
            "LOGIN" => new SaslMechanismLogin("alice@example.test", "wrong"),
            "CRAM-MD5" => new SaslMechanismCramMd5("alice@example.test", "wrong"),
            _ => new SaslMechanismScramSha256("alice@example.test", "wrong"),
        };
        var ex = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(sasl));
        var line = await server.WaitForLogAsync($"SASL {mechanism} authentication failed");
        // fail2ban's stock postfix-sasl filter (filter.d/postfix.conf, mode "auth"):
        var failregex = new Regex(@"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ postfix(-\w+)?(/\w+)*/smtpd\[\d+\]: warning: [-._\w]+\[(?<host>[^\]]+)\]: SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5|SCRAM-SHA-256) authentication failed(: [ A-Za-z0-9+/:]*={0,2})?\s*$");
        var m = failregex.Match(line);
        Assert.True(m.Success, line);
        Assert.Equal("127.0.0.1", m.Groups["host"].Value);
    }

    [Fact]
    public async Task DefaultMechanismChoiceOfMailKitWorksOverImplicitTls()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32");
        server.AddUser("alice@example.test", "pw");
        using var client = await ConnectAsync(server, Submissions, SecureSocketOptions.SslOnConnect);
        Assert.True(client.IsSecure);
        await client.AuthenticateAsync("alice@example.test", "pw");
        await client.SendAsync(Message("friend@elsewhere.example"));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task RelayRequiresAuthenticationOutsideMynetworks()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32");
        server.AddUser("alice@example.test", "pw");
        using var client = await ConnectAsync(server, Submission, SecureSocketOptions.StartTls);
        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("friend@elsewhere.example")));
        Assert.Equal(SmtpStatusCode.TransactionFailed, ex.StatusCode);
        Assert.Contains("Relay access denied", ex.Message);
    }

    [Fact]
    public async Task TlsAuthOnlyHidesAuthBeforeStartTls()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_auth_only = yes");
        server.AddUser("alice@example.test", "pw");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(Submission));
        await c.ReplyAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        var ehlo = await c.ReadReplyAsync();
        Assert.Contains(ehlo, l => l.EndsWith("STARTTLS"));
        Assert.DoesNotContain(ehlo, l => l[4..].StartsWith("AUTH"));
        Assert.Equal("503 5.5.1 Error: authentication not enabled", await c.CommandAsync("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwdw=="));
    }

    [Fact]
    public async Task Rfc4954DetailsOverRawSocket()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = none\nsmtpd_sasl_auth_enable = yes");
        server.AddUser("alice@example.test", "pw");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        await c.ReplyAsync();
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", await c.CommandAsync("AUTH PLAIN"));
        await c.SendAsync("EHLO laptop.example\r\n");
        var ehlo = await c.ReadReplyAsync();
        Assert.Contains(ehlo, l => l[4..].StartsWith("AUTH ") && l.Contains("CRAM-MD5") && l.Contains("PLAIN"));
        Assert.Equal("501 5.5.2 Cannot decode response", await c.CommandAsync("AUTH PLAIN !!!notbase64"));
        Assert.Equal("334 ", await c.CommandAsync("AUTH PLAIN"));
        Assert.Equal("501 5.7.0 Authentication aborted", await c.CommandAsync("*"));
        Assert.Equal("504 5.5.4 Unrecognized authentication type", await c.CommandAsync("AUTH NOSUCH"));
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0pw"));
        Assert.Equal("235 2.7.0 Authentication successful", await c.CommandAsync("AUTH PLAIN " + plain));
        Assert.Equal("503 5.5.1 Error: already authenticated", await c.CommandAsync("AUTH PLAIN " + plain));
        await c.CommandAsync("MAIL FROM:<alice@example.test>");
        Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<far@elsewhere.example>"));
    }

    [Fact]
    public async Task AuthzidOfAnotherUserIsRefused()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = none\nsmtpd_sasl_auth_enable = yes");
        server.AddUser("alice@example.test", "pw");
        server.AddUser("bob@example.test", "pw2");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        await c.ReplyAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        await c.ReadReplyAsync();
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("bob@example.test\0alice@example.test\0pw"));
        Assert.Equal("535 5.7.8 Error: authentication failed: authentication failure", await c.CommandAsync("AUTH PLAIN " + plain));
    }

    [Fact]
    public async Task StartTlsDiscardsPipelinedPlaintext()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(Submission));
        await c.ReplyAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        await c.ReadReplyAsync();
        // CVE-2011-0411: the injected RSET must never be answered inside TLS.
        await c.SendAsync("STARTTLS\r\nRSET\r\n");
        Assert.Equal("220 2.0.0 Ready to start TLS", await c.ReplyAsync());
        await server.WaitForLogAsync("discarding 6 bytes of plaintext pipelined after STARTTLS");
        // Inside TLS the first reply is to our EHLO, not to the injected RSET.
        await using var tls = new System.Net.Security.SslStream(c.Stream, false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("mail.example.test").WaitAsync(TimeSpan.FromSeconds(10));
        await tls.WriteAsync(Encoding.ASCII.GetBytes("EHLO laptop.example\r\n"));
        var buf = new byte[4096];
        var n = await tls.ReadAsync(buf).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("250-mail.example.test", Encoding.ASCII.GetString(buf, 0, n));
    }

    [Fact]
    public async Task AuthRateLimitRefusesClientsOutsideMynetworks()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = none\nsmtpd_sasl_auth_enable = yes\nsmtpd_client_auth_rate_limit = 2\nmynetworks = 127.0.0.1/32");
        server.AddUser("alice@example.test", "pw");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(), IPAddress.Parse("127.0.0.5"));
        await c.ReplyAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        await c.ReadReplyAsync();
        var bad = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0nope"));
        Assert.StartsWith("535 5.7.8", await c.CommandAsync("AUTH PLAIN " + bad));
        Assert.StartsWith("535 5.7.8", await c.CommandAsync("AUTH PLAIN " + bad));
        Assert.Equal("450 4.7.1 Error: too many AUTH commands from 127.0.0.5", await c.CommandAsync("AUTH PLAIN " + bad));
        await server.WaitForLogAsync("Authentication rate limit exceeded: 2 from unknown[127.0.0.5] for service smtp");
    }
}
