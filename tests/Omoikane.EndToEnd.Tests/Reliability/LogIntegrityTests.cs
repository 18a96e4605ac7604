using System.Text;
using System.Text.RegularExpressions;
using Omoikane.EndToEnd.Tests.Dns;
using Omoikane.EndToEnd.Tests.Outbound;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// Values taken from the client reach the maillog made printable (Postfix's printable(): '?' for every
/// control, ESC, DEL, C1 control and invalid UTF-8 byte), and cannot make fail2ban's stock filters
/// miss a failure or read another address.
/// </summary>
public sealed class LogIntegrityTests
{
    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
          -o smtpd_sasl_auth_enable=yes
        127.0.0.1:110 inet n - n - - pop3d
          -o pop3d_tls_security_level=none
        """;

    // fail2ban's filter.d/postfix.conf, mode "auth": the prefregex takes what follows "warning: ",
    // the failregex mdre-auth matches it (<HOST> written as the IPv4/IPv6 part of fail2ban's tag).
    private static readonly Regex PostfixPrefix = new(@"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ postfix(-\w+)?/(?:\w+/)*smtpd\[\d+\]: warning: (?<content>.+)$");
    private static readonly Regex PostfixAuthFailure = new(@"^[^[]*\[(?<host>(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]+)\](?::\d+)?: SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) authentication failed:(?! Connection lost to authentication server| Invalid authentication mechanism)");
    // fail2ban's filter.d/dovecot.conf: the prefregex takes what follows "pop3-login: ", the second failregex matches it.
    private static readonly Regex DovecotPrefix = new(@"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \S+\[\d+\]: (?:pop3|imap)-login: (?:Info: )?(?<content>.+)$");
    private static readonly Regex DovecotAuthFailure = new(@"^(?:Aborted login|Disconnected)(?::(?: [^ \(]+)+)? \((?:auth failed, \d+ attempts(?: in \d+ secs)?|tried to use (?:disabled|disallowed) \S+ auth)\):(?: user=<[^>]*>,)?(?: method=\S+,)? rip=(?<host>(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]+)(?:[^>]*(?:, session=<\S+>)?)\s*$");

    [Fact]
    public async Task ControlBytesInHeloAddressesAndMessageIdAreLoggedAsQuestionMarks()
    {
        await using var server = await TestServer.StartAsync("smtputf8_enable = yes", MasterCf);
        server.AddUser("alice@example.test", "pw");
        await using (var c = await RawSmtpClient.ConnectAsync(server.EndPoint()))
        {
            Assert.StartsWith("220 ", await c.ReplyAsync());
            // ESC sequences (clear screen, set window title ended by BEL), a one-byte CSI and a byte that is not UTF-8.
            await c.SendBytesAsync("EHLO \x1b[2J\x1b]0;owned\x07host\x9b\xff.example\r\n");
            Assert.StartsWith("250 ", (await c.ReadReplyAsync())[^1]);
            // SMTPUTF8: valid UTF-8 stays ("\xc3\xbc" is u-umlaut); a UTF-8 encoded C1 control (U+009B, CSI) does not.
            await c.SendBytesAsync("MAIL FROM:<s\xc3\xbc\xc2\x9bx@remote.example> SMTPUTF8\r\n");
            Assert.StartsWith("250 ", await c.ReplyAsync());
            Assert.StartsWith("550 ", await c.CommandAsync("RCPT TO:<nobody@example.test>"));
            // Refused as syntax errors (and not logged), whatever they hold: NUL, bare CR, ESC and DEL.
            await c.SendBytesAsync("RCPT TO:<nul\x00user@example.test>\r\n");
            await c.ReplyAsync();
            await c.SendBytesAsync("RCPT TO:<cr\ruser@example.test>\r\n");
            await c.ReplyAsync();
            await c.SendBytesAsync("RCPT TO:<esc\x1b[5m\x7f@example.test>\r\n");
            await c.ReplyAsync();
            Assert.StartsWith("250 ", await c.CommandAsync("RCPT TO:<alice@example.test>"));
            Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
            await c.SendBytesAsync("Message-ID: <\x1b[2Jid\x9b\x07@client.example>\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
            Assert.StartsWith("250 ", await c.ReplyAsync());
            await c.CommandAsync("QUIT");
        }
        var reject = await server.WaitForLogAsync("NOQUEUE: reject: RCPT from", "to=<nobody@example.test>");
        Assert.Contains("from=<s\u00fc?x@remote.example>", reject);
        Assert.Contains("helo=<?[2J?]0;owned?host??.example>", reject);
        await server.WaitForLogAsync("message-id=<?[2Jid??@client.example>");
        await server.WaitForLogAsync("disconnect from");
        AssertMaillogPrintable(server.MaillogPath);
    }

    [Fact]
    public async Task CraftedSaslUserNamesNeitherForgeLinesNorHideTheClient()
    {
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("alice@example.test", "pw");
        var forged = "\r\nDec  3 20:00:00 mail postfix-omoikane/smtpd[1]: warning: unknown[192.0.2.66]: SASL PLAIN authentication failed: x";
        await using (var c = await RawSmtpClient.ConnectAsync(server.EndPoint()))
        {
            Assert.StartsWith("220 ", await c.ReplyAsync());
            await c.CommandAsync("EHLO client.example");
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice\x1b[2J" + forged + "\0wrong"));
            Assert.StartsWith("535", await c.CommandAsync("AUTH PLAIN " + plain));
            Assert.StartsWith("334", await c.CommandAsync("AUTH LOGIN"));
            Assert.StartsWith("334", await c.CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("bob\u009b\x1b]0;t\x07" + forged))));
            Assert.StartsWith("535", await c.CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("wrong"))));
            await c.CommandAsync("QUIT");
        }
        await server.WaitForLogAsync("disconnect from");
        var hosts = FailureHosts(server.MaillogPath, PostfixPrefix, PostfixAuthFailure);
        Assert.Equal(["127.0.0.1", "127.0.0.1"], hosts);
        AssertMaillogPrintable(server.MaillogPath);
    }

    [Theory]
    [InlineData("x>")]                                              // closes user=<...> early: the stock filter missed the line
    [InlineData("x>, rip=192.0.2.66, lip=127.0.0.1, session=<a")]   // tries to add the fields the filter reads
    [InlineData("\x1b[2Jx\x9b y\x7f")]
    public async Task CraftedPop3UserNamesKeepTheDovecotFailureLineReadable(string user)
    {
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("alice@example.test", "pw");
        await using (var c = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:110")))
        {
            Assert.StartsWith("+OK", await c.ReadLineAsync());
            await c.SendBytesAsync("USER " + user + "\r\n");
            await c.ReadLineAsync();
            Assert.StartsWith("-ERR", await c.Pop3Async("PASS wrong"));
            await c.Pop3Async("QUIT");
        }
        var line = await server.WaitForLogAsync("pop3-login: Disconnected (auth failed");
        Assert.Equal(["127.0.0.1"], FailureHosts(server.MaillogPath, DovecotPrefix, DovecotAuthFailure));
        // The user name stays one field: nothing in it can close it or start another.
        var field = Regex.Match(line, "user=<(?<user>[^>]*)>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1$");
        Assert.True(field.Success, line);
        Assert.DoesNotMatch("[<>, ]", field.Groups["user"].Value);
        AssertMaillogPrintable(server.MaillogPath);
    }

    [Fact]
    public async Task ControlCharactersInARemoteServersReplyAreLoggedAsQuestionMarks()
    {
        await using var s = new OutboundScenario();
        var address = LoopbackAddresses.Next();
        var peer = new ScriptedSmtpPeer(address, 0, _ => "451 4.3.0 \x1b[2J\u009b\u202ebad\x07 reply");
        s.Own(peer);
        var sender = await s.StartSenderAsync($"transport_maps = inline:{{ remote.test=smtp:[{address}]:{peer.EndPoint.Port} }}");
        await OutboundScenario.SubmitAsync(sender.SmtpEndPoint, "alice@sender.test", ["bob@remote.test"], OutboundScenario.Message("x", "body\n"));
        await Poll.UntilAsync(() => sender.Maillog.Contains(
            $"status=deferred (host {address}[{address}] said: 451 4.3.0 ?[2J??bad? reply (in reply to RCPT TO command))", StringComparison.Ordinal),
            "the deferral, logged printable");
        AssertMaillogPrintable(sender.MaillogPath);
    }

    [Fact]
    public async Task ControlCharactersInADnsblTxtRecordReachNeitherTheReplyNorTheLogRaw()
    {
        await using var server = await DnsPolicyServer.StartAsync(
            dns => dns.AddA("9.2.0.127.rbl.example.net", "127.0.0.2").AddTxt("9.2.0.127.rbl.example.net", "listed\r\n250 2.1.5 Ok\x1b[2J\u009b"),
            "smtpd_client_restrictions = reject_rbl_client rbl.example.net");
        await using var client = await server.ConnectAsync("127.0.2.9");
        Assert.StartsWith("250 ", await client.CommandAsync($"MAIL FROM:<{DnsPolicyServer.Sender}>"));
        const string expected = "554 5.7.1 Service unavailable; Client host [127.0.2.9] blocked using rbl.example.net; listed??250 2.1.5 Ok?[2J?";
        Assert.Equal(expected, await client.CommandAsync($"RCPT TO:<{DnsPolicyServer.User}>"));
        // The reply was one line: the next command gets its own answer.
        Assert.StartsWith("250 ", await client.CommandAsync("NOOP"));
        Assert.Contains(expected, await server.WaitForLogLineAsync("NOQUEUE: reject: RCPT from unknown[127.0.2.9]"));
        AssertMaillogPrintable(server.MaillogPath);
    }

    /// <summary>The client address fail2ban would ban for each failure line of the maillog.</summary>
    private static List<string> FailureHosts(string maillog, Regex prefix, Regex failure)
    {
        var hosts = new List<string>();
        foreach (var line in ReadShared(maillog).Split('\n'))
        {
            var p = prefix.Match(line);
            if (!p.Success) continue;
            var f = failure.Match(p.Groups["content"].Value);
            if (f.Success) hosts.Add(f.Groups["host"].Value);
        }
        return hosts;
    }

    /// <summary>Every byte of the maillog: valid UTF-8, no control byte but the line ends, no DEL, no C1 control.</summary>
    private static void AssertMaillogPrintable(string maillog)
    {
        var bytes = Encoding.UTF8.GetBytes(ReadShared(maillog, out var raw));
        Assert.Equal(raw, bytes);   // decoding and re-encoding is exact only for valid UTF-8
        for (int i = 0; i < raw.Length; i++)
            Assert.False(raw[i] is < 0x20 and not (byte)'\n' or 0x7f, $"byte 0x{raw[i]:x2} at offset {i}");
        var text = Encoding.UTF8.GetString(raw);
        Assert.DoesNotContain(text, ch => ch is >= '\u0080' and <= '\u009f' or '\ufffd');
    }

    private static string ReadShared(string path) => ReadShared(path, out _);

    private static string ReadShared(string path, out byte[] raw)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var ms = new MemoryStream();
        fs.CopyTo(ms);
        raw = ms.ToArray();
        return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(raw);
    }
}
