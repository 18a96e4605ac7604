using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Omoikane.Server.Tests.Pop3;

/// <summary>Byte-level conversations: greetings, states, bad input, pipelining and STLS.</summary>
public sealed class Pop3ProtocolTests : IAsyncLifetime
{
    private static readonly Regex Greeting = new(@"^\+OK localhost POP3 server ready (<\d+\.[0-9a-f.]+@localhost>)$");
    private Pop3TestServer _server = null!;

    public Task InitializeAsync()
    {
        _server = new Pop3TestServer();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static async Task<(RawPop3Client Client, string Greeting)> OpenAsync(Pop3TestServer server)
    {
        var client = await RawPop3Client.ConnectAsync(server.Port);
        return (client, await client.ReadLineAsync());
    }

    private static async Task LoginAsync(RawPop3Client client, string user = Pop3TestServer.Alice, string password = Pop3TestServer.AlicePassword)
    {
        Assert.Equal("+OK", await client.CommandAsync("USER " + user));
        Assert.StartsWith("+OK Logged in", await client.CommandAsync("PASS " + password));
    }

    private static string Apop(string timestamp, string secret)
        => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(timestamp + secret)));

    [Fact]
    public async Task GreetingCarriesAFreshApopTimestamp()
    {
        var (a, ga) = await OpenAsync(_server);
        var (b, gb) = await OpenAsync(_server);
        await using (a) await using (b)
        {
            var ta = Greeting.Match(ga);
            var tb = Greeting.Match(gb);
            Assert.True(ta.Success, ga);
            Assert.True(tb.Success, gb);
            Assert.NotEqual(ta.Groups[1].Value, tb.Groups[1].Value);
            // The digest over this greeting's timestamp logs in; over the other greeting's it does not.
            Assert.StartsWith("-ERR [AUTH]", await a.CommandAsync($"APOP {Pop3TestServer.Alice} {Apop(tb.Groups[1].Value, Pop3TestServer.AlicePassword)}"));
            Assert.StartsWith("+OK", await a.CommandAsync($"APOP {Pop3TestServer.Alice} {Apop(ta.Groups[1].Value, Pop3TestServer.AlicePassword)}"));
        }
    }

    [Fact]
    public async Task NoTimestampAndNoApopWhenDisabled()
    {
        await using var server = new Pop3TestServer(o => o with { ApopEnabled = false });
        var (client, greeting) = await OpenAsync(server);
        await using (client)
        {
            Assert.Equal("+OK localhost POP3 server ready", greeting);
            Assert.StartsWith("-ERR", await client.CommandAsync($"APOP {Pop3TestServer.Alice} {new string('0', 32)}"));
        }
    }

    [Fact]
    public async Task CapaListsTheExtensions()
    {
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            Assert.StartsWith("+OK", await client.CommandAsync("CAPA"));
            var caps = await client.ReadMultilineAsync();
            foreach (var c in new[] { "TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "STLS", "EXPIRE NEVER", "IMPLEMENTATION Omoikane" })
                Assert.Contains(c, caps);
            Assert.Contains("SASL SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", caps);
            Assert.DoesNotContain(caps, c => c.StartsWith("LOGIN-DELAY"));

            Assert.StartsWith("+OK", await client.CommandAsync("STLS"));
            await client.StartTlsAsync();
            Assert.StartsWith("+OK", await client.CommandAsync("CAPA"));
            caps = await client.ReadMultilineAsync();
            Assert.DoesNotContain("STLS", caps);
            Assert.Contains("SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", caps);
            await LoginAsync(client);
            Assert.StartsWith("+OK", await client.CommandAsync("CAPA"));
            caps = await client.ReadMultilineAsync();
            Assert.DoesNotContain("USER", caps);
            Assert.Contains("UIDL", caps);
        }
    }

    [Fact]
    public async Task NoLoginOfAnyKindBeforeStlsWhenEncryptIsRequired()
    {
        const string refusal = "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
        await using var server = new Pop3TestServer(o => o with { TlsLevel = "encrypt" });
        var (client, greeting) = await OpenAsync(server);
        await using (client)
        {
            Assert.StartsWith("+OK", await client.CommandAsync("CAPA"));
            var caps = await client.ReadMultilineAsync();
            Assert.DoesNotContain("USER", caps);
            Assert.DoesNotContain(caps, c => c.StartsWith("SASL", StringComparison.Ordinal));
            Assert.Contains("STLS", caps);
            Assert.Equal(refusal, await client.CommandAsync("USER " + Pop3TestServer.Alice));
            Assert.Equal(refusal, await client.CommandAsync("PASS " + Pop3TestServer.AlicePassword));
            Assert.Equal(refusal, await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{Pop3TestServer.Alice}\0{Pop3TestServer.AlicePassword}"))));
            // Mechanisms that do not send the password are refused too (Dovecot's ssl = required).
            Assert.Equal(refusal, await client.CommandAsync("AUTH CRAM-MD5"));
            Assert.Equal(refusal, await client.CommandAsync("AUTH SCRAM-SHA-256"));
            var timestamp = greeting[greeting.IndexOf('<')..];
            var digest = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(timestamp + Pop3TestServer.AlicePassword)));
            Assert.Equal(refusal, await client.CommandAsync($"APOP {Pop3TestServer.Alice} {digest}"));
            Assert.StartsWith("+OK", await client.CommandAsync("STLS"));
            await client.StartTlsAsync();
            Assert.StartsWith("+OK", await client.CommandAsync("CAPA"));
            caps = await client.ReadMultilineAsync();
            Assert.Contains("USER", caps);
            Assert.Contains(caps, c => c.StartsWith("SASL ", StringComparison.Ordinal) && c.Contains("CRAM-MD5"));
            // The same APOP digest is good once TLS is up.
            Assert.StartsWith("+OK", await client.CommandAsync($"APOP {Pop3TestServer.Alice} {digest}"));
        }
        Assert.NotNull(await server.WaitForLogAsync("Login: user=<alice@localhost>, method=APOP, rip=127.0.0.1, lip=127.0.0.1, TLS"));
    }

    [Fact]
    public async Task CommandsOutsideTheirStateAreRefused()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: x\n\nx\n");
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            foreach (var cmd in new[] { "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 0", "UIDL" })
                Assert.Equal("-ERR Not logged in.", await client.CommandAsync(cmd));
            Assert.StartsWith("-ERR No username", await client.CommandAsync("PASS " + Pop3TestServer.AlicePassword));
            Assert.StartsWith("-ERR Unknown command", await client.CommandAsync("HELO x"));
            await LoginAsync(client);
            foreach (var cmd in new[] { "USER x", "PASS y", "APOP a b", "AUTH PLAIN", "STLS" })
                Assert.StartsWith("-ERR", await client.CommandAsync(cmd));
            Assert.Equal("+OK 1 17", await client.CommandAsync("STAT"));
            Assert.StartsWith("+OK", await client.CommandAsync("QUIT"));
            Assert.True(await client.IsClosedByServerAsync());
        }
    }

    [Fact]
    public async Task MessageNumbersOutOfRangeOrDeletedAreRefused()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: x\n\nx\n");
        _server.Deliver(Pop3TestServer.Alice, "Subject: y\n\ny\n");
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            await LoginAsync(client);
            foreach (var cmd in new[] { "LIST 0", "LIST 3", "RETR 99999999999999999999", "TOP 3 1", "UIDL 4294967297", "DELE 3" })
                Assert.Equal("-ERR No such message.", await client.CommandAsync(cmd));
            foreach (var cmd in new[] { "RETR", "RETR x", "RETR -1", "TOP 1", "TOP 1 -2", "LIST 1 2", "STAT 1" })
                Assert.StartsWith("-ERR", await client.CommandAsync(cmd));
            Assert.Equal("+OK Marked to be deleted.", await client.CommandAsync("DELE 1"));
            Assert.Equal("-ERR Message is deleted.", await client.CommandAsync("DELE 1"));
            Assert.Equal("-ERR Message is deleted.", await client.CommandAsync("RETR 1"));
            Assert.Equal("-ERR Message is deleted.", await client.CommandAsync("LIST 1"));
            Assert.Equal("+OK 1 17", await client.CommandAsync("STAT"));
            Assert.StartsWith("+OK 1 messages", await client.CommandAsync("LIST"));
            Assert.Equal(new[] { "2 17" }, await client.ReadMultilineAsync());
            Assert.StartsWith("+OK", await client.CommandAsync("UIDL"));
            Assert.Single(await client.ReadMultilineAsync());
            Assert.StartsWith("+OK 2 messages", await client.CommandAsync("RSET"));
            Assert.Equal("+OK 2 34", await client.CommandAsync("STAT"));
        }
    }

    [Fact]
    public async Task HugeLinesAreRefusedAndTheSessionGoesOn()
    {
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            Assert.Equal("-ERR Line too long.", await client.CommandAsync("USER " + new string('a', 100_000)));
            Assert.Equal("-ERR Line too long.", await client.CommandAsync("USER " + new string('b', 600)));
            Assert.StartsWith("-ERR", await client.CommandAsync("AUTH PLAIN " + new string('A', 20_000)));
            await LoginAsync(client);
        }
    }

    [Fact]
    public async Task TooManyBadCommandsEndTheSession()
    {
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            for (int i = 1; i < _server.Options.BadCommandLimit; i++)
                Assert.StartsWith("-ERR Unknown command", await client.CommandAsync("XYZZY"));
            Assert.Equal("-ERR Too many invalid commands.", await client.CommandAsync("XYZZY"));
            Assert.True(await client.IsClosedByServerAsync());
        }
    }

    [Fact]
    public async Task PipelinedCommandsAreAnsweredInOrder()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: x\n\n.dot\n");
        _server.Deliver(Pop3TestServer.Alice, "Subject: y\n\ny\n");
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            await client.SendAsync($"USER {Pop3TestServer.Alice}\r\nPASS {Pop3TestServer.AlicePassword}\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 2\r\nUIDL 2\r\nNOOP\r\nQUIT\r\n");
            Assert.Equal("+OK", await client.ReadLineAsync());
            Assert.StartsWith("+OK Logged in, 2 messages", await client.ReadLineAsync());
            Assert.Equal("+OK 2 37", await client.ReadLineAsync());
            Assert.StartsWith("+OK", await client.ReadLineAsync());
            Assert.Equal(new[] { "1 20", "2 17" }, await client.ReadMultilineAsync());
            Assert.Equal("+OK 20 octets", await client.ReadLineAsync());
            Assert.Equal(new[] { "Subject: x", "", "..dot" }, await client.ReadMultilineAsync());
            Assert.Equal("+OK Marked to be deleted.", await client.ReadLineAsync());
            Assert.Equal("-ERR Message is deleted.", await client.ReadLineAsync());
            Assert.Equal("+OK", await client.ReadLineAsync());
            Assert.Equal("+OK Logging out, 1 messages deleted.", await client.ReadLineAsync());
            Assert.True(await client.IsClosedByServerAsync());
        }
        Assert.Single(_server.Files(Pop3TestServer.Alice, "cur"));
    }

    [Fact]
    public async Task RetrievalInAnyOrderReturnsEachMessageExactly()
    {
        // The session reads the message after the one just retrieved ahead of time: whatever order the
        // client asks in (forwards, backwards, skipping, after DELE, around a large message that is
        // streamed), every RETR must answer with its own message.
        var big = "Subject: big\n\n" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i} " + new string('x', 60) + "\n"));
        var bodies = new[] { "Subject: 1\n\none\n", "Subject: 2\n\n.two\n", big, "Subject: 4\n\nfour", "Subject: 5\n\nfive\n" };
        foreach (var b in bodies) _server.Deliver(Pop3TestServer.Alice, b);
        string Expected(int n) => bodies[n - 1].EndsWith('\n') ? bodies[n - 1] : bodies[n - 1] + "\n";
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            await LoginAsync(client);
            foreach (var n in new[] { 1, 2, 3, 4, 5, 4, 1, 3, 2, 5, 5 })
            {
                Assert.StartsWith("+OK", await client.CommandAsync($"RETR {n}"));
                var lines = await client.ReadMultilineAsync();
                var text = string.Join("\n", lines.Select(l => l.StartsWith('.') ? l[1..] : l)) + "\n";
                Assert.Equal(Expected(n), text);
            }
            Assert.StartsWith("+OK", await client.CommandAsync("RETR 1"));
            await client.ReadMultilineAsync();
            Assert.StartsWith("+OK", await client.CommandAsync("DELE 2"));
            Assert.Equal("-ERR Message is deleted.", await client.CommandAsync("RETR 2"));
            Assert.StartsWith("+OK", await client.CommandAsync("TOP 4 0"));
            Assert.Equal(new[] { "Subject: 4", "" }, await client.ReadMultilineAsync());
            Assert.StartsWith("+OK", await client.CommandAsync("RSET"));
            Assert.Equal("+OK 20 octets", await client.CommandAsync("RETR 2"));
            Assert.Equal(new[] { "Subject: 2", "", "..two" }, await client.ReadMultilineAsync());
            Assert.StartsWith("+OK", await client.CommandAsync("QUIT"));
        }
        Assert.Equal(5, _server.Files(Pop3TestServer.Alice, "cur").Length);
    }

    [Fact]
    public async Task PlaintextPipelinedAfterStlsIsDiscarded()
    {
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            // The injected commands would log in and mark a message if they were run under TLS.
            await client.SendAsync($"STLS\r\nUSER {Pop3TestServer.Alice}\r\nPASS {Pop3TestServer.AlicePassword}\r\n");
            Assert.StartsWith("+OK Begin TLS", await client.ReadLineAsync());
            await client.StartTlsAsync();
            Assert.Equal("-ERR Not logged in.", await client.CommandAsync("STAT"));
            Assert.StartsWith("-ERR No username", await client.CommandAsync("PASS " + Pop3TestServer.AlicePassword));
            Assert.StartsWith("-ERR TLS is already active", await client.CommandAsync("STLS"));
        }
        Assert.NotNull(await _server.WaitForLogAsync("bytes of plaintext pipelined after STLS"));
    }

    [Fact]
    public async Task AuthCancelAndBadBase64AreRefused()
    {
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            Assert.Equal("+ ", await client.CommandAsync("AUTH PLAIN"));
            Assert.Equal("-ERR Authentication cancelled.", await client.CommandAsync("*"));
            Assert.StartsWith("+ ", await client.CommandAsync("AUTH CRAM-MD5"));
            Assert.StartsWith("-ERR Invalid base64", await client.CommandAsync("not base64!"));
            Assert.StartsWith("-ERR Invalid base64", await client.CommandAsync("AUTH PLAIN %%%%"));
            Assert.StartsWith("-ERR Unsupported", await client.CommandAsync("AUTH GSSAPI"));
            Assert.Equal("+OK", await client.CommandAsync("AUTH"));
            Assert.Equal(new[] { "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN" }, await client.ReadMultilineAsync());
            // Still in AUTHORIZATION, and nothing above counted as a failed login.
            Assert.Equal(0, _server.Throttle.Failures(System.Net.IPAddress.Loopback));
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{Pop3TestServer.Alice}\0{Pop3TestServer.AlicePassword}"));
            Assert.StartsWith("+OK Logged in", await client.CommandAsync("AUTH PLAIN " + plain));
        }
    }

    [Fact]
    public async Task LoginFailureLimitDisconnects()
    {
        await using var server = new Pop3TestServer(o => o with { LoginFailureLimit = 2 });
        var (client, _) = await OpenAsync(server);
        await using (client)
        {
            Assert.Equal("+OK", await client.CommandAsync("USER " + Pop3TestServer.Alice));
            Assert.Equal("-ERR [AUTH] Authentication failed.", await client.CommandAsync("PASS nope"));
            Assert.Equal("+OK", await client.CommandAsync("USER nobody@localhost"));
            Assert.Equal("-ERR [AUTH] Authentication failed.", await client.CommandAsync("PASS nope"));
            Assert.True(await client.IsClosedByServerAsync());
        }
        Assert.NotNull(await server.WaitForLogAsync("pop3-login: Disconnected (auth failed, 2 attempts in "));
        Assert.Equal(2, server.Throttle.Failures(System.Net.IPAddress.Loopback));
    }

    [Fact]
    public async Task SharedThrottleBlocksAClientPastItsLimit()
    {
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            for (int i = 0; i < 10; i++) server_RecordFailure();
            Assert.Equal("+OK", await client.CommandAsync("USER " + Pop3TestServer.Alice));
            // Even the right password is not checked while the client is blocked.
            Assert.StartsWith("-ERR [AUTH] Too many authentication failures", await client.CommandAsync("PASS " + Pop3TestServer.AlicePassword));
            Assert.True(await client.IsClosedByServerAsync());
        }

        void server_RecordFailure() => _server.Throttle.RecordFailure(System.Net.IPAddress.Loopback);
    }

    [Fact]
    public async Task IdleSessionTimesOut()
    {
        await using var server = new Pop3TestServer(o => o with { Timeout = TimeSpan.FromMilliseconds(500) });
        var (client, _) = await OpenAsync(server);
        await using (client)
        {
            await LoginAsync(client);
            Assert.Equal("-ERR Disconnected for inactivity.", await client.ReadLineAsync());
            Assert.True(await client.IsClosedByServerAsync());
        }
        Assert.NotNull(await server.WaitForLogAsync("pop3(alice@localhost): Disconnected for inactivity top=0/0"));
        await server.WaitForUnlockedAsync();
        Assert.Equal(0, server.Services.Locks.Count);
    }

    [Fact]
    public async Task TopSendsHeaderAndRequestedBodyLines()
    {
        _server.Deliver(Pop3TestServer.Alice, "A: 1\nB: 2\n\nl1\n.l2\nl3\n");
        var (client, _) = await OpenAsync(_server);
        await using (client)
        {
            await LoginAsync(client);
            Assert.Equal("+OK", await client.CommandAsync("TOP 1 0"));
            Assert.Equal(new[] { "A: 1", "B: 2", "" }, await client.ReadMultilineAsync());
            Assert.Equal("+OK", await client.CommandAsync("TOP 1 2"));
            Assert.Equal(new[] { "A: 1", "B: 2", "", "l1", "..l2" }, await client.ReadMultilineAsync());
            Assert.Equal("+OK", await client.CommandAsync("TOP 1 99999999999999999999999"));
            Assert.Equal(new[] { "A: 1", "B: 2", "", "l1", "..l2", "l3" }, await client.ReadMultilineAsync());
            Assert.StartsWith("+OK", await client.CommandAsync("QUIT"));
        }
        Assert.NotNull(await _server.WaitForLogAsync("Logged out top=3/"));
    }
}
