using Omoikane.EndToEnd.Tests.Support;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>
/// smtpd_forbid_unauth_pipelining (Postfix 3.9, default yes) and reject_unauth_pipelining: a client that
/// talks before the greeting, pipelines without having said EHLO, or sends more after a command that must
/// end a pipelined group (DATA, NOOP, ...) is disconnected with "554 5.5.0 Error: SMTP protocol synchronization".
/// </summary>
public sealed class UnauthPipeliningTests
{
    private const string Sync = "554 5.5.0 Error: SMTP protocol synchronization";

    private static async Task AssertNothingDeliveredAsync(TestServer server)
    {
        await Task.Delay(300);
        var dir = server.MaildirNew("example.test", "alice");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0);
    }

    [Fact]
    public async Task ClientThatTalksBeforeTheGreetingIsDisconnected()
    {
        // The client's reverse lookup never answers, so the greeting waits dns_timeout: the early talk is there first.
        await using var dns = LoopbackDnsServer.Start();
        dns.SetPtrBehavior("127.0.0.1", DnsBehavior.NeverAnswer);
        await using var server = await TestServer.StartAsync($"dns_servers = {dns.DnsServersValue}\ndns_timeout = 1s");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        await c.SendAsync("EHLO early.example\r\n");
        Assert.Equal(Sync, await c.ReplyAsync(15000));
        Assert.True(await c.IsClosedAsync());
        await server.WaitForLogAsync(@"improper command pipelining after CONNECT from unknown[127.0.0.1]: EHLO early.example\r\n");
    }

    [Fact]
    public async Task PipeliningAfterHeloIsDisconnectedAndNothingRuns()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "x");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250 ", await c.CommandAsync("HELO client.example"));
        await c.SendAsync("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        Assert.Equal(Sync, await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
        await server.WaitForLogAsync(@"improper command pipelining after MAIL from unknown[127.0.0.1]: RCPT TO:<alice@example.test>\r\nDATA\r\n");
        await server.WaitForLogAsync("disconnect from unknown[127.0.0.1] helo=1 mail=0/1 commands=1/2");
        await AssertNothingDeliveredAsync(server);
    }

    [Fact]
    public async Task AfterEhloDataMustEndTheGroup()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "x");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        await c.SendAsync("EHLO client.example\r\n");
        await c.ReadReplyAsync();
        // MAIL and RCPT may be pipelined after EHLO; the message content may not follow DATA before its 354.
        await c.SendAsync("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: early\r\n\r\nbody\r\n.\r\n");
        Assert.Equal("250 2.1.0 Ok", await c.ReplyAsync());
        Assert.Equal("250 2.1.5 Ok", await c.ReplyAsync());
        Assert.Equal(Sync, await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
        await server.WaitForLogAsync(@"improper command pipelining after DATA from unknown[127.0.0.1]: Subject: early\r\n\r\nbody\r\n.\r\n");
        await AssertNothingDeliveredAsync(server);
    }

    [Fact]
    public async Task NoopMustEndTheGroupAfterEhlo()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        await c.SendAsync("EHLO client.example\r\n");
        await c.ReadReplyAsync();
        await c.SendAsync("RSET\r\nNOOP\r\nQUIT\r\n");
        Assert.Equal("250 2.0.0 Ok", await c.ReplyAsync());
        Assert.Equal(Sync, await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
    }

    [Fact]
    public async Task WhenNotForbiddenTheSessionGoesOnAndRejectUnauthPipeliningRefusesData()
    {
        await using var server = await TestServer.StartAsync("smtpd_forbid_unauth_pipelining = no\nsmtpd_data_restrictions = reject_unauth_pipelining");
        server.AddUser("alice@example.test", "x");
        await using (var c = await RawSmtpClient.ConnectAsync(server.EndPoint()))
        {
            Assert.StartsWith("220 ", await c.ReplyAsync());
            Assert.StartsWith("250 ", await c.CommandAsync("HELO client.example"));
            await c.SendAsync("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            Assert.Equal("250 2.1.0 Ok", await c.ReplyAsync());
            Assert.Equal("250 2.1.5 Ok", await c.ReplyAsync());
            Assert.Equal("503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining", await c.ReplyAsync());
            Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
        }
        await server.WaitForLogAsync(@"improper command pipelining after MAIL from unknown[127.0.0.1]: RCPT TO:<alice@example.test>\r\nDATA\r\n");

        // After EHLO the same group is legal: reject_unauth_pipelining lets it through.
        await using (var c = await RawSmtpClient.ConnectAsync(server.EndPoint()))
        {
            Assert.StartsWith("220 ", await c.ReplyAsync());
            await c.SendAsync("EHLO client.example\r\n");
            await c.ReadReplyAsync();
            await c.SendAsync("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            Assert.Equal("250 2.1.0 Ok", await c.ReplyAsync());
            Assert.Equal("250 2.1.5 Ok", await c.ReplyAsync());
            Assert.StartsWith("354 ", await c.ReplyAsync());
            await c.SendAsync("Subject: fine\r\n\r\nbody\r\n.\r\n");
            Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        }
        await server.WaitForMailAsync("example.test", "alice");
    }
}
