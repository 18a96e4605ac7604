using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>Hostile POP3 input over real sockets: state violations, bad message numbers, huge arguments, a locked maildrop.</summary>
public sealed class HostilePop3Tests
{
    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:110 inet n - n - - pop3d
        """;

    private static async Task<TestServer> StartWithMailAsync(string mainCf = "", int messages = 2)
    {
        var server = await TestServer.StartAsync(mainCf, MasterCf);
        server.AddUser("alice@example.test", "pw");
        await using var c = await Hostile.OpenSmtpAsync(server.EndPoint());
        for (int i = 0; i < messages; i++)
            Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.SendMessageAsync("bob@remote.example", "alice@example.test", $"m{i}"));
        if (messages > 0) await server.WaitForMailAsync("example.test", "alice", messages);
        return server;
    }

    private static async Task<RawSmtpClient> OpenPop3Async(TestServer server)
    {
        var c = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:110"));
        Assert.StartsWith("+OK ", await c.ReadLineAsync());
        return c;
    }

    private static async Task<RawSmtpClient> LoginAsync(TestServer server)
    {
        var c = await OpenPop3Async(server);
        Assert.Equal("+OK", await c.Pop3Async("USER alice@example.test"));
        Assert.StartsWith("+OK Logged in", await c.Pop3Async("PASS pw"));
        return c;
    }

    [Fact]
    public async Task CommandsOutOfStateAreRefused()
    {
        await using var server = await StartWithMailAsync();
        await using (var c = await OpenPop3Async(server))
        {
            Assert.Equal("-ERR Not logged in.", await c.Pop3Async("STAT"));
            Assert.Equal("-ERR Not logged in.", await c.Pop3Async("RETR 1"));
            Assert.Equal("-ERR Not logged in.", await c.Pop3Async("DELE 1"));
            Assert.Equal("-ERR No username given.", await c.Pop3Async("PASS pw"));
            Assert.Equal("-ERR Unknown command.", await c.Pop3Async("XYZZY"));
        }
        await using (var c = await LoginAsync(server))
        {
            Assert.Equal("-ERR Already logged in.", await c.Pop3Async("USER alice@example.test"));
            Assert.Equal("-ERR Already logged in.", await c.Pop3Async("APOP alice@example.test 0123"));
            Assert.Equal("-ERR STLS is not valid after login.", await c.Pop3Async("STLS"));
            Assert.StartsWith("+OK", await c.Pop3Async("LIST"));
            Assert.Equal(2, (await c.Pop3MultiLineAsync()).Count);
            Assert.StartsWith("+OK Logging out", await c.Pop3Async("QUIT"));
        }
        await Hostile.AssertStillServesPop3Async(server.EndPoint("127.0.0.1:110"));
        Assert.Equal(2, Directory.GetFiles(server.MaildirNew("example.test", "alice")).Length
            + Directory.GetFiles(Path.Combine(server.Host.Config.MailboxBase, "example.test", "alice", "cur")).Length);
    }

    [Theory]
    [InlineData("RETR 0", "-ERR No such message.")]
    [InlineData("RETR 3", "-ERR No such message.")]
    [InlineData("DELE 2147483648", "-ERR No such message.")]
    [InlineData("LIST 99999999999999999999999999", "-ERR No such message.")]
    [InlineData("TOP 1 -1", "-ERR Syntax: TOP message lines")]
    [InlineData("RETR -1", "-ERR Syntax: RETR message")]
    [InlineData("DELE 1x", "-ERR Syntax: DELE message")]
    [InlineData("UIDL +1", "-ERR Syntax: UIDL [message]")]
    [InlineData("RETR １", "-ERR Syntax: RETR message")]
    public async Task OutOfRangeAndMalformedMessageNumbersAreRefused(string command, string reply)
    {
        await using var server = await StartWithMailAsync();
        await using (var c = await LoginAsync(server))
        {
            Assert.Equal(reply, await c.Pop3Async(command));
            Assert.StartsWith("+OK 2 ", await c.Pop3Async("STAT"));
            Assert.StartsWith("+OK Logging out, 0 messages deleted", await c.Pop3Async("QUIT"));
        }
        await Hostile.AssertStillServesPop3Async(server.EndPoint("127.0.0.1:110"));
    }

    [Fact]
    public async Task HugeArgumentsAreRefusedAndTheSessionContinues()
    {
        await using var server = await StartWithMailAsync(messages: 1);
        await using (var c = await OpenPop3Async(server))
        {
            Assert.Equal("-ERR Line too long.", await c.Pop3Async("USER " + new string('a', 600)));
            Assert.Equal("-ERR Line too long.", await c.Pop3Async("APOP " + new string('a', 1_000_000)));
            Assert.Equal("-ERR Line too long.", await c.Pop3Async("AUTH PLAIN " + new string('A', 20_000)));
            Assert.Equal("+OK", await c.Pop3Async("USER alice@example.test"));
            Assert.StartsWith("+OK Logged in, 1 messages", await c.Pop3Async("PASS pw"));
            Assert.Equal("-ERR Line too long.", await c.Pop3Async("RETR " + new string('1', 5000)));
            Assert.Equal("-ERR No such message.", await c.Pop3Async("RETR " + new string('1', 400)));
            Assert.StartsWith("+OK 1 ", await c.Pop3Async("STAT"));
        }
        await Hostile.AssertStillServesPop3Async(server.EndPoint("127.0.0.1:110"));
    }

    [Fact]
    public async Task TooManyBadCommandsEndTheSession()
    {
        await using var server = await StartWithMailAsync(messages: 0);
        await using (var c = await OpenPop3Async(server))
        {
            await c.SendAsync(string.Concat(Enumerable.Repeat("BOGUS\r\n", 500)));
            for (int i = 0; i < 19; i++) Assert.Equal("-ERR Unknown command.", await c.ReadLineAsync());
            Assert.Equal("-ERR Too many invalid commands.", await c.ReadLineAsync());
            Assert.True(await c.IsClosedAsync());
        }
        await Hostile.AssertStillServesPop3Async(server.EndPoint("127.0.0.1:110"));
    }

    [Fact]
    public async Task SecondSessionOnALockedMaildropIsRefusedUntilTheFirstEnds()
    {
        await using var server = await StartWithMailAsync();
        await using var first = await LoginAsync(server);
        Assert.Equal("+OK Marked to be deleted.", await first.Pop3Async("DELE 1"));
        await using (var second = await OpenPop3Async(server))
        {
            Assert.Equal("+OK", await second.Pop3Async("USER alice@example.test"));
            Assert.Equal("-ERR [IN-USE] Mailbox is locked by another POP3 session.", await second.Pop3Async("PASS pw"));
            // Still in AUTHORIZATION: the second session sees nothing of the mailbox.
            Assert.Equal("-ERR Not logged in.", await second.Pop3Async("STAT"));
        }
        Assert.StartsWith("+OK Logging out, 1 messages deleted", await first.Pop3Async("QUIT"));
        await using var third = await LoginAsync(server);
        Assert.StartsWith("+OK 1 ", await third.Pop3Async("STAT"));
    }
}
