using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// Hostile SMTP input over real sockets. Each case checks the exact reply and that the server goes on
/// serving other clients. (The basic refusals live in Smtp/SmtpRejectTests; these extend them.)
/// </summary>
public sealed class HostileSmtpTests
{
    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    /// <summary>End-of-data look-alikes beyond the six in SmtpRejectTests: none ends the data.</summary>
    public static TheoryData<string> MoreSmugglingSequences => new() { "\n.\r", "\r\r\n.\r\r\n", "\n\r.\r\n", "\r\n.\r\r\n", "\r\n.\n\r\n" };

    [Theory]
    [MemberData(nameof(MoreSmugglingSequences))]
    public async Task MoreSmuggledEndOfDataVariantsAreRefusedAndNothingIsDelivered(string sequence)
    {
        await using var server = await TestServer.StartAsync("smtpd_forbid_bare_newline = reject\nsmtpd_forbid_bare_newline_exclusions =");
        server.AddUser("alice@example.test", "x");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            await c.CommandAsync("MAIL FROM:<bob@remote.example>");
            await c.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.StartsWith("354", await c.CommandAsync("DATA"));
            await c.SendAsync("Subject: outer\r\n\r\nouter" + sequence + "MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nforged\r\n.\r\n");
            Assert.Matches(@"^550 5\.5\.2 Error: bare <(LF|CR)> received$", await c.ReplyAsync());
            Assert.True(await c.IsClosedAsync());
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
        var dir = server.MaildirNew("example.test", "alice");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0);
    }

    /// <summary>The same variants under the default (normalize): accepted as one message; the forged commands never run.</summary>
    [Theory]
    [MemberData(nameof(MoreSmugglingSequences))]
    public async Task MoreSmuggledEndOfDataVariantsStayInsideOneMessageByDefault(string sequence)
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32");
        server.AddUser("alice@example.test", "x");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            await c.CommandAsync("MAIL FROM:<bob@remote.example>");
            await c.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.StartsWith("354", await c.CommandAsync("DATA"));
            await c.SendAsync("Subject: outer\r\n\r\nouter" + sequence + "MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nforged\r\n.\r\n");
            Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
            Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        }
        var files = await server.WaitForMailAsync("example.test", "alice");
        await Task.Delay(300);
        Assert.Single(Directory.GetFiles(server.MaildirNew("example.test", "alice")));
        Assert.Contains("forged", await File.ReadAllTextAsync(files[0]));
    }

    /// <summary>A NUL before the dot is not an end of data: the forged commands stay text in one message.</summary>
    [Fact]
    public async Task NulBeforeTheDotKeepsTheSmuggledTextInsideOneMessage()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "x");
        await using var c = await Hostile.OpenSmtpAsync(server.EndPoint());
        await c.CommandAsync("MAIL FROM:<bob@remote.example>");
        await c.CommandAsync("RCPT TO:<alice@example.test>");
        await c.CommandAsync("DATA");
        await c.SendBytesAsync("Subject: outer\r\n\r\nouter\r\n\0.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nforged\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        // Had the forged commands run, this would be "503 nested MAIL" or "354".
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        var files = await server.WaitForMailAsync("example.test", "alice");
        await Task.Delay(300);
        Assert.Single(Directory.GetFiles(server.MaildirNew("example.test", "alice")));
        Assert.Contains("forged", await File.ReadAllTextAsync(files[0]));
    }

    /// <summary>BDAT content is counted, never scanned: CRLF.CRLF inside a chunk ends nothing.</summary>
    [Fact]
    public async Task EndOfDataInsideABdatChunkIsJustContent()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "x");
        await using var c = await Hostile.OpenSmtpAsync(server.EndPoint());
        await c.CommandAsync("MAIL FROM:<bob@remote.example>");
        await c.CommandAsync("RCPT TO:<alice@example.test>");
        var chunk = "Subject: outer\r\n\r\nouter\r\n.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nforged\r\n";
        await c.SendAsync($"BDAT {Encoding.ASCII.GetByteCount(chunk)} LAST\r\n{chunk}");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        var files = await server.WaitForMailAsync("example.test", "alice");
        await Task.Delay(300);
        Assert.Single(Directory.GetFiles(server.MaildirNew("example.test", "alice")));
        Assert.Contains("forged", await File.ReadAllTextAsync(files[0]));
    }

    [Fact]
    public async Task CommandLineLimitIsExactAndAuthLinesMayBeLonger()
    {
        await using var server = await TestServer.StartAsync();
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP " + new string('a', 2048 - 5)));
            Assert.Equal("500 5.5.2 Error: line too long", await c.CommandAsync("NOOP " + new string('a', 2048 - 4)));
            // Beyond the 12288-octet AUTH cap the reader discards the line before parsing it.
            Assert.Equal("500 5.5.2 Error: line too long", await c.CommandAsync("AUTH PLAIN " + new string('A', 200_000)));
            Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }

    [Fact]
    public async Task NulAndEightBitBytesInCommandsAreRefused()
    {
        await using var server = await TestServer.StartAsync();
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            await c.SendBytesAsync("NOOP\0\r\n");
            Assert.Equal("500 5.5.2 Error: bad syntax", await c.ReplyAsync());
            await c.SendBytesAsync("MAIL FROM:<a\0b@remote.example>\r\n");
            Assert.Equal("500 5.5.2 Error: bad syntax", await c.ReplyAsync());
            // UTF-8 address without SMTPUTF8 (RFC 6531 §3.4).
            await c.SendAsync("MAIL FROM:<jörg@remote.example>\r\n");
            Assert.Equal("553 5.6.7 Must declare SMTPUTF8 to send unicode address", await c.ReplyAsync());
            // Bytes that are not UTF-8 at all: never an address, with or without SMTPUTF8.
            await c.SendBytesAsync("MAIL FROM:<j\xff\xfe@remote.example>\r\n");
            Assert.Equal("501 5.1.7 Bad sender address syntax", await c.ReplyAsync());
            await c.SendBytesAsync("MAIL FROM:<j\xff\xfe@remote.example> SMTPUTF8\r\n");
            Assert.Equal("501 5.1.7 Bad sender address syntax", await c.ReplyAsync());
            await c.SendBytesAsync("MAIL FROM:<jorg@remote\xc3\x28.example> SMTPUTF8\r\n");
            Assert.Equal("501 5.1.7 Bad sender address syntax", await c.ReplyAsync());
            await c.SendBytesAsync("\xff\xfe\xfd\r\n");
            Assert.Equal("502 5.5.2 Error: command not recognized", await c.ReplyAsync());
            Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<bob@remote.example>"));
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }

    /// <summary>Past smtpd_recipient_limit each RCPT gets 452 without counting as an error; the accepted ones still get the mail.</summary>
    [Fact]
    public async Task PipelinedRecipientsBeyondTheLimitGet452WithoutEndingTheSession()
    {
        await using var server = await TestServer.StartAsync("smtpd_recipient_limit = 2\nsmtpd_hard_error_limit = 3\nrecipient_delimiter = +");
        server.AddUser("alice@example.test", "x");
        await using var c = await Hostile.OpenSmtpAsync(server.EndPoint());
        var sb = new StringBuilder("MAIL FROM:<bob@remote.example>\r\n");
        for (int i = 0; i < 10; i++) sb.Append($"RCPT TO:<alice+{i}@example.test>\r\n");
        await c.SendAsync(sb.ToString());
        Assert.Equal("250 2.1.0 Ok", await c.ReplyAsync());
        Assert.Equal("250 2.1.5 Ok", await c.ReplyAsync());
        Assert.Equal("250 2.1.5 Ok", await c.ReplyAsync());
        for (int i = 2; i < 10; i++) Assert.Equal("452 4.5.3 Error: too many recipients", await c.ReplyAsync());
        Assert.StartsWith("354", await c.CommandAsync("DATA"));
        await c.SendAsync("Subject: two\r\n\r\nx\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        await server.WaitForMailAsync("example.test", "alice", 2);
        await Task.Delay(300);
        Assert.Equal(2, Directory.GetFiles(server.MaildirNew("example.test", "alice")).Length);
    }

    /// <summary>With many errors pipelined in one write, exactly hard_error_limit replies come, then 421; nothing after runs.</summary>
    [Fact]
    public async Task PipelinedErrorsStopAtTheHardLimitAndLaterCommandsNeverRun()
    {
        await using var server = await TestServer.StartAsync("smtpd_hard_error_limit = 5");
        server.AddUser("alice@example.test", "x");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            var sb = new StringBuilder();
            for (int i = 0; i < 200; i++) sb.Append("BOGUS\r\n");
            sb.Append("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: late\r\n\r\nx\r\n.\r\n");
            await c.SendAsync(sb.ToString());
            for (int i = 0; i < 5; i++) Assert.Equal("502 5.5.2 Error: command not recognized", await c.ReplyAsync());
            Assert.Equal("421 4.7.0 mail.example.test Error: too many errors", await c.ReplyAsync());
            Assert.True(await c.IsClosedAsync());
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
        var dir = server.MaildirNew("example.test", "alice");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0);
    }

    /// <summary>NOOP is a junk command: 100 are answered, then each counts as an error until the hard limit.</summary>
    [Fact]
    public async Task PipelinedNoopFloodEndsAtTheJunkAndErrorLimits()
    {
        await using var server = await TestServer.StartAsync();
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            await c.SendAsync(string.Concat(Enumerable.Repeat("NOOP\r\n", 5000)));
            for (int i = 0; i < 120; i++) Assert.Equal("250 2.0.0 Ok", await c.ReplyAsync());
            Assert.Equal("421 4.7.0 mail.example.test Error: too many errors", await c.ReplyAsync());
            Assert.True(await c.IsClosedAsync());
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }

    /// <summary>Thousands of non-junk commands in one write: every reply comes, in order.</summary>
    [Fact]
    public async Task PipelinedFloodGetsEveryReply()
    {
        const int N = 20000;
        await using var server = await TestServer.StartAsync("smtpd_junk_command_limit = 100000");
        await using var c = await Hostile.OpenSmtpAsync(server.EndPoint());
        var flood = new StringBuilder();
        for (int i = 0; i < N; i++) flood.Append(i % 2 == 0 ? "RSET\r\n" : "NOOP\r\n");
        var send = c.SendAsync(flood.ToString()); // the server answers while we send: read concurrently
        await Hostile.ExpectRepeatedAsync(c, "250 2.0.0 Ok\r\n", N, 30000);
        await send;
        Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
    }

    [Fact]
    public async Task CommandsOutOfOrderAreRefusedWithoutSideEffects()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = may");
        server.AddUser("alice@example.test", "x");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            // The chunk is read (RFC 3030 §2) and thrown away.
            await c.SendAsync("BDAT 10 LAST\r\nRSET\r\nQUIT");
            Assert.Equal("503 5.5.1 Error: need RCPT command", await c.ReplyAsync());
            Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<bob@remote.example>"));
            Assert.Equal("503 5.5.1 Error: MAIL transaction in progress", await c.CommandAsync("STARTTLS"));
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<alice@example.test>"));
            Assert.Equal("501 5.5.4 Syntax: RSET", await c.CommandAsync("RSET now"));
            // EHLO in the middle of a transaction resets it (RFC 5321 §4.1.4).
            Assert.StartsWith("250 ", await c.CommandAsync("EHLO again.example"));
            Assert.Equal("503 5.5.1 Error: need RCPT command", await c.CommandAsync("DATA"));
            Assert.Equal("503 5.5.1 Error: need MAIL command", await c.CommandAsync("RCPT TO:<alice@example.test>"));
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
        await Task.Delay(200);
        var dir = server.MaildirNew("example.test", "alice");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0);
    }

    /// <summary>CVE-2011-0411: plaintext pipelined after STARTTLS is discarded, never executed inside TLS.</summary>
    [Fact]
    public async Task PlaintextPipelinedAfterStartTlsIsDiscarded()
    {
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = may");
        server.AddUser("alice@example.test", "x");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            await c.SendAsync("STARTTLS\r\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<alice@example.test>\r\n");
            Assert.Equal("220 2.0.0 Ready to start TLS", await c.ReplyAsync());
            await using var tls = new SslStream(c.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync("mail.example.test").WaitAsync(TimeSpan.FromSeconds(10));
            var reader = new StreamReader(tls, Encoding.ASCII);
            async Task<string> Cmd(string cmd)
            {
                await tls.WriteAsync(Encoding.ASCII.GetBytes(cmd + "\r\n"));
                string line;
                do line = (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)))!; while (line[3] == '-');
                return line;
            }
            Assert.StartsWith("250 ", await Cmd("EHLO client.example"));
            // The pipelined MAIL never ran, so there is no transaction.
            Assert.Equal("503 5.5.1 Error: need MAIL command", await Cmd("RCPT TO:<alice@example.test>"));
            Assert.Equal("554 5.5.1 Error: TLS already active", await Cmd("STARTTLS"));
        }
        await server.WaitForLogAsync("discarding", "bytes of plaintext pipelined after STARTTLS");
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }

    [Fact]
    public async Task SaslCancelBadBase64AndAuthTwice()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "pw");
        var submission = server.EndPoint("127.0.0.1:587");
        await using (var c = await Hostile.OpenSmtpAsync(submission))
        {
            Assert.Equal("334 VXNlcm5hbWU6", await c.CommandAsync("AUTH LOGIN"));
            Assert.Equal("501 5.7.0 Authentication aborted", await c.CommandAsync("*"));
            Assert.Equal("501 5.5.2 Cannot decode response", await c.CommandAsync("AUTH PLAIN !!!!"));
            Assert.Equal("334 VXNlcm5hbWU6", await c.CommandAsync("AUTH LOGIN"));
            Assert.Equal("501 5.5.2 Cannot decode response", await c.CommandAsync("YWxp*2U="));
            Assert.Equal("504 5.5.4 Unrecognized authentication type", await c.CommandAsync("AUTH NTLM"));
            Assert.Equal("235 2.7.0 Authentication successful", await c.CommandAsync("AUTH PLAIN " + B64("\0alice@example.test\0pw")));
            Assert.Equal("503 5.5.1 Error: already authenticated", await c.CommandAsync("AUTH PLAIN " + B64("\0alice@example.test\0pw")));
        }
        await Hostile.AssertStillServesSmtpAsync(submission);
    }

    [Fact]
    public async Task AuthorizationIdentityOfAnotherUserIsRefused()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "pw");
        server.AddUser("bob@example.test", "pw2");
        var submission = server.EndPoint("127.0.0.1:587");
        await using (var c = await Hostile.OpenSmtpAsync(submission))
        {
            Assert.Equal("535 5.7.8 Error: authentication failed: authentication failure",
                await c.CommandAsync("AUTH PLAIN " + B64("bob@example.test\0alice@example.test\0pw")));
            // Acting as oneself through the authzid is fine.
            Assert.Equal("235 2.7.0 Authentication successful",
                await c.CommandAsync("AUTH PLAIN " + B64("alice@example.test\0alice@example.test\0pw")));
        }
        await server.WaitForLogAsync("SASL PLAIN authentication failed");
        await Hostile.AssertStillServesSmtpAsync(submission);
    }

    /// <summary>A CRAM-MD5 response is bound to its challenge: replaying it in another session fails.</summary>
    [Fact]
    public async Task ReplayedCramMd5ResponseIsRefused()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "pw");
        var submission = server.EndPoint("127.0.0.1:587");
        string response;
        await using (var c = await Hostile.OpenSmtpAsync(submission))
        {
            var challenge = await c.CommandAsync("AUTH CRAM-MD5");
            Assert.StartsWith("334 ", challenge);
            var ts = Convert.FromBase64String(challenge[4..]);
            var digest = Convert.ToHexStringLower(HMACMD5.HashData(Encoding.UTF8.GetBytes("pw"), ts));
            response = B64("alice@example.test " + digest);
            Assert.Equal("235 2.7.0 Authentication successful", await c.CommandAsync(response));
        }
        await using (var c = await Hostile.OpenSmtpAsync(submission))
        {
            Assert.StartsWith("334 ", await c.CommandAsync("AUTH CRAM-MD5"));
            Assert.Equal("535 5.7.8 Error: authentication failed: authentication failure", await c.CommandAsync(response));
            Assert.Equal("503 5.5.1 Error: need MAIL command", await c.CommandAsync("RCPT TO:<x@elsewhere.example>"));
        }
        await Hostile.AssertStillServesSmtpAsync(submission);
    }
}
