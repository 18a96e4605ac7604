using System.Text;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Auth;

/// <summary>
/// smtpd_sasl_local_domain (a bare login means login@realm for every mechanism, SMTP and POP3) and
/// reject_*_sender_login_mismatch with smtpd_sender_login_maps, over real sessions.
/// </summary>
public sealed class SaslRealmTests
{
    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:587 inet n - n - - smtpd
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_tls_security_level=may
        127.0.0.1:110 inet n - n - - pop3d
        """;

    private static MimeMessage Message(string from, string to)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse(from));
        m.To.Add(MailboxAddress.Parse(to));
        m.Subject = "realm";
        m.Body = new TextPart("plain") { Text = "hello\n" };
        return m;
    }

    private static async Task<SmtpClient> SubmissionAsync(TestServer server)
    {
        var client = new SmtpClient { LocalDomain = "laptop.example", ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15000 };
        await client.ConnectAsync("127.0.0.1", server.Port("127.0.0.1:587"), SecureSocketOptions.StartTls);
        return client;
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    [InlineData("CRAM-MD5")]
    [InlineData("SCRAM-SHA-256")]
    public async Task ABareLoginMeansTheUserAtTheLocalDomainForEverySmtpMechanism(string mechanism)
    {
        await using var server = await TestServer.StartAsync("smtpd_sasl_local_domain = example.test\nmynetworks = 127.0.0.254/32", MasterCf);
        server.AddUser("joe@example.test", "pw joe");
        using var client = await SubmissionAsync(server);
        SaslMechanism sasl = mechanism switch
        {
            "PLAIN" => new SaslMechanismPlain("joe", "pw joe"),
            "LOGIN" => new SaslMechanismLogin("joe", "pw joe"),
            "CRAM-MD5" => new SaslMechanismCramMd5("joe", "pw joe"),
            _ => new SaslMechanismScramSha256("joe", "pw joe"),
        };
        await client.AuthenticateAsync(sasl);
        await client.SendAsync(Message("joe@example.test", "friend@elsewhere.example"));
        await client.DisconnectAsync(true);
        await server.WaitForLogAsync($"sasl_method={mechanism}, sasl_username=joe@example.test");
    }

    [Fact]
    public async Task WithoutALocalDomainABareLoginIsRefused()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32", MasterCf);
        server.AddUser("joe@example.test", "pw joe");
        using var client = await SubmissionAsync(server);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismPlain("joe", "pw joe")));
    }

    [Fact]
    public async Task ABareLoginWorksForPop3UserPassApopAndAuth()
    {
        await using var server = await TestServer.StartAsync("smtpd_sasl_local_domain = example.test", MasterCf);
        server.AddUser("joe@example.test", "pw joe");
        foreach (var apop in new[] { false, true })
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync("127.0.0.1", server.Port("127.0.0.1:110"));
            var stream = tcp.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            async Task<string> Command(string line)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
                return (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)))!;
            }
            var greeting = (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)))!;
            if (apop)
            {
                var stamp = greeting[greeting.IndexOf('<')..(greeting.IndexOf('>') + 1)];
                var digest = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.ASCII.GetBytes(stamp + "pw joe")));
                Assert.StartsWith("+OK", await Command($"APOP joe {digest}"));
            }
            else
            {
                Assert.StartsWith("+OK", await Command("USER joe"));
                Assert.StartsWith("+OK", await Command("PASS pw joe"));
            }
            Assert.StartsWith("+OK 0 ", await Command("STAT"));
        }
        using var pop = new Pop3Client();
        await pop.ConnectAsync("127.0.0.1", server.Port("127.0.0.1:110"), SecureSocketOptions.None);
        await pop.AuthenticateAsync(new SaslMechanismPlain("joe", "pw joe"));
        Assert.True(pop.IsAuthenticated);
        await pop.DisconnectAsync(true);
    }

    private const string LoginMaps = "alice@example.test alice@example.test\nbob@example.test bob\nsales@example.test bob, alice\n@shared.test bob\n";

    private static Task<TestServer> StartWithMapsAsync(string restriction)
        => TestServer.StartAsync("smtpd_sasl_auth_enable = yes\nsmtpd_tls_security_level = none\nsmtpd_sasl_local_domain = example.test\n"
            + $"mynetworks = 127.0.0.254/32\nsmtpd_sender_login_maps = hash:$config_directory/senders\nsmtpd_sender_restrictions = {restriction}",
            prepare: dir => File.WriteAllText(Path.Combine(dir, "senders"), LoginMaps));

    private static async Task<RawSmtpClient> SessionAsync(TestServer server, string? login)
    {
        var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250 ", await c.CommandAsync("EHLO client.example"));
        if (login is not null)
            Assert.StartsWith("235 ", await c.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{login}\0pw"))));
        return c;
    }

    private static async Task<string> TryAsync(TestServer server, string? login, string sender)
    {
        await using var c = await SessionAsync(server, login);
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync($"MAIL FROM:<{sender}>"));
        return await c.CommandAsync("RCPT TO:<alice@example.test>");   // smtpd_delay_reject: the sender verdict comes at RCPT
    }

    [Fact]
    public async Task RejectSenderLoginMismatchAsPostfix()
    {
        await using var server = await StartWithMapsAsync("reject_sender_login_mismatch");
        server.AddUser("alice@example.test", "pw");
        server.AddUser("bob@example.test", "pw");
        Assert.Equal("553 5.7.1 <alice@example.test>: Sender address rejected: not owned by user bob@example.test",
            await TryAsync(server, "bob", "alice@example.test"));
        Assert.Equal("250 2.1.5 Ok", await TryAsync(server, "bob", "bob@example.test"));       // owner "bob" qualified by the realm
        Assert.Equal("250 2.1.5 Ok", await TryAsync(server, "bob", "sales@example.test"));     // one of two owners
        Assert.Equal("250 2.1.5 Ok", await TryAsync(server, "bob", "anyone@shared.test"));     // @domain entry
        Assert.Equal("553 5.7.1 <x@elsewhere.example>: Sender address rejected: not owned by user bob@example.test",
            await TryAsync(server, "bob", "x@elsewhere.example"));                             // unlisted: not owned either
        Assert.Equal("553 5.7.1 <alice@example.test>: Sender address rejected: not logged in",
            await TryAsync(server, null, "alice@example.test"));
        Assert.Equal("250 2.1.5 Ok", await TryAsync(server, null, "x@elsewhere.example"));
        await server.WaitForLogAsync("NOQUEUE: reject: RCPT from ", "553 5.7.1 <alice@example.test>: Sender address rejected: not owned by user bob@example.test; from=<alice@example.test> to=<alice@example.test>");
    }

    [Theory]
    [InlineData("reject_authenticated_sender_login_mismatch", "553", "553", "250")]
    [InlineData("reject_known_sender_login_mismatch", "553", "250", "553")]
    [InlineData("reject_unauthenticated_sender_login_mismatch", "250", "250", "553")]
    public async Task TheThreeNarrowerRestrictions(string restriction, string ownedByOther, string unlisted, string unauthenticatedOwned)
    {
        await using var server = await StartWithMapsAsync(restriction);
        server.AddUser("alice@example.test", "pw");
        server.AddUser("bob@example.test", "pw");
        Assert.StartsWith(ownedByOther + " ", await TryAsync(server, "bob", "alice@example.test"));
        Assert.StartsWith(unlisted + " ", await TryAsync(server, "bob", "x@elsewhere.example"));
        Assert.StartsWith(unauthenticatedOwned + " ", await TryAsync(server, null, "alice@example.test"));
    }

    [Fact]
    public async Task MailKitClientCannotSendAsAnotherUser()
    {
        await using var server = await TestServer.StartAsync("smtpd_sasl_local_domain = example.test\nmynetworks = 127.0.0.254/32\n"
            + "smtpd_sender_login_maps = hash:$config_directory/senders\nsmtpd_sender_restrictions = reject_sender_login_mismatch",
            MasterCf, dir => File.WriteAllText(Path.Combine(dir, "senders"), LoginMaps));
        server.AddUser("alice@example.test", "pw");
        server.AddUser("bob@example.test", "pw");
        using var client = await SubmissionAsync(server);
        await client.AuthenticateAsync(new SaslMechanismPlain("bob", "pw"));
        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("alice@example.test", "friend@elsewhere.example")));
        Assert.Equal(553, (int)ex.StatusCode);
        Assert.Contains("not owned by user bob@example.test", ex.Message);
        await client.SendAsync(Message("bob@example.test", "friend@elsewhere.example"));
        await client.DisconnectAsync(true);
    }
}
