using System.Net;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Pop3;

/// <summary>SMTP in, POP3 out, through one running server; and POP-before-SMTP.</summary>
public sealed class Pop3EndToEndTests
{
    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:110 inet n - n - - pop3d
        127.0.0.1:995 inet n - n - - pop3d
          -o pop3d_tls_wrappermode=yes
        """;

    [Fact]
    public async Task MessageSentBySmtpIsRetrievedByteForByteOverPop3()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = may", MasterCf);
        server.AddUser("alice@example.test", "pw");
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("bob@remote.example"));
        m.To.Add(MailboxAddress.Parse("alice@example.test"));
        m.Subject = "via pop3";
        m.Body = new TextPart("plain") { Text = "line one\n.leading dot\n..two dots\nlast\n" };
        using (var smtp = new SmtpClient { LocalDomain = "client.example" })
        {
            await smtp.ConnectAsync("127.0.0.1", server.Port(), SecureSocketOptions.None);
            await smtp.SendAsync(m);
            await smtp.DisconnectAsync(true);
        }
        var files = await server.WaitForMailAsync("example.test", "alice");
        var onDisk = await File.ReadAllBytesAsync(files[0]);

        using var pop = new Pop3Client { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await pop.ConnectAsync("127.0.0.1", server.Port("127.0.0.1:995"), SecureSocketOptions.SslOnConnect);
        await pop.AuthenticateAsync(new SaslMechanismCramMd5("alice@example.test", "pw"));
        Assert.Equal(1, pop.Count);
        using var raw = await pop.GetStreamAsync(0);
        var ms = new MemoryStream();
        await raw.CopyToAsync(ms);
        // POP3 presents the LF file with CRLF line endings; the content is otherwise identical.
        Assert.Equal(MailFiles.CrLfToLf(ms.ToArray()), onDisk);
        var sizes = await pop.GetMessageSizesAsync();
        Assert.Equal(onDisk.Length + onDisk.Count(b => b == '\n'), sizes[0]);
        var uid = (await pop.GetMessageUidsAsync())[0];
        await pop.DeleteMessageAsync(0);
        await pop.DisconnectAsync(true);
        await server.WaitForLogAsync("pop3-login: Login: user=<alice@example.test>, method=CRAM-MD5, rip=127.0.0.1");
        await server.WaitForLogAsync("pop3(alice@example.test): Disconnected: Logged out", "del=1/1");
        Assert.Empty(Directory.GetFiles(Path.Combine(server.Host.Config.MailboxBase, "example.test", "alice", "cur")));
        Assert.False(string.IsNullOrEmpty(uid));
    }

    [Fact]
    public async Task PopBeforeSmtpLetsTheSameAddressRelayForItsLifetime()
    {
        await using var server = await TestServer.StartAsync("""
            mynetworks = 127.0.0.1/32
            pop_before_smtp_lifetime = 2s
            smtpd_relay_restrictions = permit_mynetworks, permit_pop_before_smtp, permit_sasl_authenticated, reject_unauth_destination
            """, MasterCf);
        server.AddUser("alice@example.test", "pw");
        var client = IPAddress.Parse("127.0.0.3");

        async Task<string> TryRelayAsync()
        {
            await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(), client);
            await c.ReplyAsync();
            await c.CommandAsync("EHLO laptop.example");
            await c.CommandAsync("MAIL FROM:<alice@example.test>");
            return await c.CommandAsync("RCPT TO:<friend@elsewhere.example>");
        }

        Assert.Equal("554 5.7.1 <friend@elsewhere.example>: Relay access denied", await TryRelayAsync());
        await using (var pop = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:110"), client))
        {
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("USER alice@example.test\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("PASS pw\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("QUIT\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
        }
        Assert.Equal("250 2.1.5 Ok", await TryRelayAsync());
        await Task.Delay(3000); // past pop_before_smtp_lifetime
        Assert.Equal("554 5.7.1 <friend@elsewhere.example>: Relay access denied", await TryRelayAsync());
    }
}
