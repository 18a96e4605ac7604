using System.Net;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>Every refusal over a real socket, with its exact reply and the log line.</summary>
public sealed class SmtpRejectTests
{
    private static async Task<RawSmtpClient> OpenAsync(TestServer server, IPAddress? source = null, string helo = "client.example")
    {
        var c = await RawSmtpClient.ConnectAsync(server.EndPoint(), source);
        Assert.StartsWith("220 ", await c.ReplyAsync());
        if (helo.Length > 0) Assert.StartsWith("250 ", await c.CommandAsync("EHLO " + helo));
        return c;
    }

    [Fact]
    public async Task CommandsBeforeHeloAreRefused()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await OpenAsync(server, helo: "");
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", await c.CommandAsync("MAIL FROM:<a@b.example>"));
        Assert.Equal("501 5.5.4 Syntax: EHLO hostname", await c.CommandAsync("EHLO"));
        Assert.Equal("250 mail.example.test", await c.CommandAsync("HELO client.example"));
        Assert.Equal("503 5.5.1 Error: need MAIL command", await c.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.Equal("503 5.5.1 Error: need RCPT command", await c.CommandAsync("DATA"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<a@b.example>"));
        Assert.Equal("503 5.5.1 Error: nested MAIL command", await c.CommandAsync("MAIL FROM:<a@b.example>"));
        Assert.Equal("554 5.5.1 Error: no valid recipients", await c.CommandAsync("DATA"));
        Assert.Equal("502 5.5.2 Error: command not recognized", await c.CommandAsync("FOO bar"));
        Assert.Equal("501 5.1.7 Bad sender address syntax", await (await OpenAsync(server)).CommandAsync("MAIL FROM:<a@@b>"));
    }

    [Fact]
    public async Task AddressSyntaxErrorsAreRefused()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await OpenAsync(server);
        Assert.Equal("501 5.5.4 Syntax: MAIL FROM:<address>", await c.CommandAsync("MAIL TO:<a@b.example>"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<>"));
        Assert.Equal("501 5.1.3 Bad recipient address syntax", await c.CommandAsync("RCPT TO:<alice@example..test>"));
        Assert.Equal("501 5.1.3 Bad recipient address syntax", await c.CommandAsync("RCPT TO:<>"));
        Assert.Equal("555 5.5.4 Unsupported option: NOTIFY=NEVER", await c.CommandAsync("RCPT TO:<alice@example.test> NOTIFY=NEVER"));
    }

    [Fact]
    public async Task UnknownLocalUserGets550()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await OpenAsync(server);
        await c.CommandAsync("MAIL FROM:<bob@remote.example>");
        Assert.Equal("550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table", await c.CommandAsync("RCPT TO:<nobody@example.test>"));
        await server.WaitForLogAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table; from=<bob@remote.example> to=<nobody@example.test> proto=ESMTP helo=<client.example>");
    }

    [Fact]
    public async Task RelayIsDeniedOutsideMynetworksAndAllowedInside()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.1/32");
        await using (var outside = await OpenAsync(server, IPAddress.Parse("127.0.0.2")))
        {
            await outside.CommandAsync("MAIL FROM:<spammer@remote.example>");
            Assert.Equal("554 5.7.1 <victim@elsewhere.example>: Relay access denied", await outside.CommandAsync("RCPT TO:<victim@elsewhere.example>"));
        }
        await server.WaitForLogAsync("NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 5.7.1 <victim@elsewhere.example>: Relay access denied; from=<spammer@remote.example> to=<victim@elsewhere.example> proto=ESMTP helo=<client.example>");
        await using var inside = await OpenAsync(server, IPAddress.Parse("127.0.0.1"));
        await inside.CommandAsync("MAIL FROM:<user@example.test>");
        Assert.Equal("250 2.1.5 Ok", await inside.CommandAsync("RCPT TO:<friend@elsewhere.example>"));
    }

    [Fact]
    public async Task MessageSizeLimitIsEnforcedDeclaredAndStreamed()
    {
        await using var server = await TestServer.StartAsync("message_size_limit = 1000");
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenAsync(server);
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit", await c.CommandAsync("MAIL FROM:<bob@remote.example> SIZE=5000"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<bob@remote.example> SIZE=500"));
        await c.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.StartsWith("354", await c.CommandAsync("DATA"));
        await c.SendAsync("Subject: big\r\n\r\n" + new string('x', 3000) + "\r\n.\r\n");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit", await c.ReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        Assert.False(Directory.Exists(server.MaildirNew("example.test", "alice")) && Directory.GetFiles(server.MaildirNew("example.test", "alice")).Length > 0);
    }

    [Fact]
    public async Task TooManyRecipientsGets452()
    {
        await using var server = await TestServer.StartAsync("smtpd_recipient_limit = 2\nrecipient_delimiter = +");
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenAsync(server);
        await c.CommandAsync("MAIL FROM:<bob@remote.example>");
        Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<alice+x@example.test>"));
        Assert.Equal("452 4.5.3 Error: too many recipients", await c.CommandAsync("RCPT TO:<alice+y@example.test>"));
    }

    [Fact]
    public async Task HardErrorLimitDisconnects()
    {
        await using var server = await TestServer.StartAsync("smtpd_hard_error_limit = 3");
        await using var c = await OpenAsync(server);
        Assert.StartsWith("502", await c.CommandAsync("BOGUS1"));
        Assert.StartsWith("502", await c.CommandAsync("BOGUS2"));
        await c.SendAsync("BOGUS3\r\n");
        Assert.StartsWith("502", await c.ReplyAsync());
        Assert.Equal("421 4.7.0 mail.example.test Error: too many errors", await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
        await server.WaitForLogAsync("too many errors after UNKNOWN from unknown[127.0.0.1]");
    }

    [Fact]
    public async Task IdleClientTimesOut()
    {
        await using var server = await TestServer.StartAsync("smtpd_timeout = 1s");
        await using var c = await OpenAsync(server);
        await c.SendAsync("MAIL FROM:<a@b.exa"); // never finished: the deadline is per line, not per byte
        Assert.Equal("421 4.4.2 mail.example.test Error: timeout exceeded", await c.ReplyAsync(5000));
        Assert.True(await c.IsClosedAsync());
        await server.WaitForLogAsync("timeout after EHLO from unknown[127.0.0.1]");
    }

    [Fact]
    public async Task OverlongCommandLineIsRefused()
    {
        await using var server = await TestServer.StartAsync();
        await using var c = await OpenAsync(server);
        Assert.Equal("500 5.5.2 Error: line too long", await c.CommandAsync("NOOP " + new string('a', 20000)));
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
    }

    /// <summary>smtpd_forbid_bare_newline = reject for every client (no exclusions): Postfix's reply and a hang-up.</summary>
    private const string RejectBareNewlines = "smtpd_forbid_bare_newline = reject\nsmtpd_forbid_bare_newline_exclusions =";

    [Fact]
    public async Task BareLineFeedInCommandDisconnectsInRejectMode()
    {
        await using var server = await TestServer.StartAsync(RejectBareNewlines);
        await using var c = await OpenAsync(server);
        await c.SendAsync("NOOP\n");
        Assert.Equal("550 5.5.2 Error: bare <LF> received", await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
    }

    /// <summary>The default (normalize) takes a command ending in a bare LF as if it ended in CRLF.</summary>
    [Fact]
    public async Task BareLineFeedInCommandIsNormalizedByDefault()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32");
        await using var c = await OpenAsync(server);
        await c.SendAsync("NOOP\n");
        Assert.Equal("250 2.0.0 Ok", await c.ReplyAsync());
        await c.SendAsync("RSET\r\n");
        Assert.Equal("250 2.0.0 Ok", await c.ReplyAsync());
    }

    /// <summary>smtpd_forbid_bare_newline_exclusions defaults to $mynetworks: those clients get "no", not "reject".</summary>
    [Fact]
    public async Task MynetworksIsExcludedFromRejectByDefault()
    {
        await using var server = await TestServer.StartAsync("smtpd_forbid_bare_newline = reject\nmynetworks = 127.0.0.0/8");
        await using (var trusted = await OpenAsync(server))
        {
            await trusted.SendAsync("NOOP\n");
            Assert.Equal("250 2.0.0 Ok", await trusted.ReplyAsync());
        }
        await using var server2 = await TestServer.StartAsync("smtpd_forbid_bare_newline = reject\nmynetworks = 127.0.0.254/32");
        await using var stranger = await OpenAsync(server2);
        await stranger.SendAsync("NOOP\n");
        Assert.Equal("550 5.5.2 Error: bare <LF> received", await stranger.ReplyAsync());
    }

    public static TheoryData<string> SmugglingSequences => new() { "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n" };

    /// <summary>SMTP smuggling: only CRLF.CRLF ends data, so a second, forged message is never seen as one.</summary>
    [Theory]
    [MemberData(nameof(SmugglingSequences))]
    public async Task SmuggledEndOfDataNeverEndsTheMessage(string sequence)
    {
        await using var server = await TestServer.StartAsync(RejectBareNewlines);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenAsync(server);
        await c.CommandAsync("MAIL FROM:<bob@remote.example>");
        await c.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.StartsWith("354", await c.CommandAsync("DATA"));
        await c.SendAsync("Subject: outer\r\n\r\nouter body" + sequence + "MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nforged\r\n.\r\n");
        // In reject mode the whole thing is one message, refused for its bare CR/LF, and the session ends.
        var reply = await c.ReplyAsync();
        Assert.Matches(@"^550 5\.5\.2 Error: bare <(LF|CR)> received$", reply);
        Assert.True(await c.IsClosedAsync());
        await Task.Delay(300);
        var dir = server.MaildirNew("example.test", "alice");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0);
    }

    public static TheoryData<string, string> SmugglingSequencesByMode()
    {
        var data = new TheoryData<string, string>();
        foreach (var mode in new[] { "normalize", "yes", "no" })
            foreach (var sequence in SmugglingSequences)
                data.Add(mode, sequence);
        return data;
    }

    /// <summary>normalize (the default), yes and no accept the message, but as one: the forged commands never run.</summary>
    [Theory]
    [MemberData(nameof(SmugglingSequencesByMode))]
    public async Task WithBareNewlinesAllowedTheSmuggledTextStaysInsideOneMessage(string mode, string sequence)
    {
        await using var server = await TestServer.StartAsync($"smtpd_forbid_bare_newline = {mode}\nmynetworks = 127.0.0.254/32");
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenAsync(server);
        await c.CommandAsync("MAIL FROM:<bob@remote.example>");
        await c.CommandAsync("RCPT TO:<alice@example.test>");
        await c.CommandAsync("DATA");
        await c.SendAsync("Subject: outer\r\n\r\nouter body" + sequence + "MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nforged\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        // Had the forged commands run, this would be "503 5.5.1 Error: nested MAIL command" or a 354.
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
        var files = await server.WaitForMailAsync("example.test", "alice");
        await Task.Delay(300);
        Assert.Single(Directory.GetFiles(server.MaildirNew("example.test", "alice")));
        var text = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(files[0]));
        Assert.Contains("Subject: outer", text);
        Assert.Contains("MAIL FROM:<admin@example.test>", text);
        Assert.Contains("forged", text);
    }
}
