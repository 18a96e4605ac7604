using System.Net;
using System.Text;
using MailKit.Net.Smtp;
using MimeKit;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>Mail sent with MailKit over real sockets arrives in the Maildir exactly as sent.</summary>
public sealed class SmtpDeliveryTests
{
    private static MimeMessage Message(string body, string subject = "test", string to = "alice@example.test")
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("bob@remote.example"));
        m.To.Add(MailboxAddress.Parse(to));
        m.Subject = subject;
        m.Date = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        m.MessageId = Guid.NewGuid().ToString("N") + "@remote.example";
        m.Body = new TextPart("plain") { Text = body };
        return m;
    }

    private static byte[] Bytes(MimeMessage m)
    {
        using var ms = new MemoryStream();
        m.WriteTo(FormatOptions.Default, ms);
        return ms.ToArray();
    }

    private static async Task SendAsync(TestServer server, MimeMessage m, string service = "127.0.0.1:25")
    {
        using var client = new SmtpClient();
        client.LocalDomain = "client.example";
        await client.ConnectAsync("127.0.0.1", server.Port(service), MailKit.Security.SecureSocketOptions.None);
        await client.SendAsync(m);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task MessageArrivesInMaildirByteForByte()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "secret");
        var m = Message("Hello Alice,\n\nthis is a test.\n");
        await SendAsync(server, m);
        var files = await server.WaitForMailAsync("example.test", "alice");
        var delivered = await File.ReadAllBytesAsync(files[0]);
        Assert.Equal(MailFiles.CrLfToLf(Bytes(m)), MailFiles.WithoutTraceHeaders(delivered));
        var text = Encoding.UTF8.GetString(delivered);
        Assert.StartsWith("Return-Path: <bob@remote.example>\nDelivered-To: alice@example.test\nReceived: from client.example (unknown [127.0.0.1])\n\tby mail.example.test (Omoikane) with ESMTP id ", text);
        Assert.DoesNotContain("\r\n", text);
        // Maildir name carries the sizes: S = on disk, W = with CRLF.
        var name = Path.GetFileName(files[0]);
        Assert.Contains($",S={delivered.Length},W={delivered.Length + delivered.Count(b => b == '\n')}", name);
        await server.WaitForLogAsync("status=sent (delivered to maildir)", "to=<alice@example.test>", "relay=local");
    }

    [Fact]
    public async Task DotStuffedAndEightBitLinesArriveUnchanged()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "secret");
        var m = Message("");
        var body = "..two dots\n.one dot\n.\n. \nnaïve café — 日本語\nend\n";
        m.Body = new TextPart("plain") { Text = body, ContentTransferEncoding = ContentEncoding.EightBit };
        await SendAsync(server, m);
        var files = await server.WaitForMailAsync("example.test", "alice");
        var delivered = await File.ReadAllBytesAsync(files[0]);
        Assert.Equal(MailFiles.CrLfToLf(Bytes(m)), MailFiles.WithoutTraceHeaders(delivered));
        Assert.Contains("\n..two dots\n.one dot\n.\n. \nnaïve café — 日本語\n", Encoding.UTF8.GetString(delivered));
    }

    [Fact]
    public async Task TwentyMegabyteMessageArrives()
    {
        await using var server = await TestServer.StartAsync("message_size_limit = 40000000");
        server.AddUser("alice@example.test", "secret");
        var sb = new StringBuilder();
        var rnd = new Random(7);
        while (sb.Length < 20 * 1024 * 1024)
        {
            for (int i = 0; i < 76; i++) sb.Append((char)('A' + rnd.Next(26)));
            sb.Append('\n');
            if (rnd.Next(50) == 0) sb.Append(".leading dot\n");
        }
        var m = Message(sb.ToString());
        await SendAsync(server, m);
        var files = await server.WaitForMailAsync("example.test", "alice", timeoutMs: 60000);
        var delivered = await File.ReadAllBytesAsync(files[0]);
        Assert.True(delivered.Length > 20 * 1024 * 1024);
        Assert.Equal(MailFiles.CrLfToLf(Bytes(m)), MailFiles.WithoutTraceHeaders(delivered));
    }

    [Fact]
    public async Task AliasesExpandToSeveralUsersAndDelimiterIsStripped()
    {
        await using var server = await TestServer.StartAsync("alias_maps = hash:$config_directory/aliases\nrecipient_delimiter = +",
            prepare: dir => File.WriteAllText(Path.Combine(dir, "aliases"), "# aliases(5)\npostmaster: alice\nteam: alice,\n  carol\n"));
        server.AddUser("alice@example.test", "a");
        server.AddUser("carol@example.test", "c");
        await SendAsync(server, Message("to the team", to: "team@example.test"));
        await SendAsync(server, Message("tagged", to: "alice+lists@example.test"));
        await SendAsync(server, Message("admin", to: "postmaster@example.test"));
        var alice = await server.WaitForMailAsync("example.test", "alice", 3);
        var carol = await server.WaitForMailAsync("example.test", "carol", 1);
        Assert.Equal(3, alice.Length);
        Assert.Single(carol);
        await server.WaitForLogAsync("to=<alice@example.test>", "orig_to=<team@example.test>", "status=sent");
    }

    [Fact]
    public async Task ChunkedBdatMessageIsReassembled()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "secret");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        var ehlo = await c.CommandAsync("EHLO client.example");
        Assert.StartsWith("250 ", ehlo);
        Assert.StartsWith("250 2.1.0", await c.CommandAsync("MAIL FROM:<bob@remote.example>"));
        Assert.StartsWith("250 2.1.5", await c.CommandAsync("RCPT TO:<alice@example.test>"));
        var part1 = "Subject: chunks\r\n\r\nfirst part\r";
        var part2 = "\n.second line starts with a dot\r\n";
        await c.SendAsync($"BDAT {Encoding.ASCII.GetByteCount(part1)}\r\n{part1}");
        Assert.Equal($"250 2.0.0 Ok: {part1.Length} bytes", await c.ReplyAsync());
        await c.SendAsync($"BDAT {Encoding.ASCII.GetByteCount(part2)} LAST\r\n{part2}");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        Assert.StartsWith("221", await c.CommandAsync("QUIT"));
        var files = await server.WaitForMailAsync("example.test", "alice");
        var content = Encoding.UTF8.GetString(MailFiles.WithoutTraceHeaders(await File.ReadAllBytesAsync(files[0])));
        Assert.EndsWith("\n\nfirst part\n.second line starts with a dot\n", content);
    }

    [Fact]
    public async Task PipelinedTransactionGetsEveryReplyInOrder()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "secret");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        await c.ReplyAsync();
        var ehlo = await c.CommandAsync("EHLO client.example");
        await c.SendAsync("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n");
        Assert.StartsWith("250 2.1.0", await c.ReplyAsync());
        Assert.StartsWith("250 2.1.5", await c.ReplyAsync());
        Assert.StartsWith("550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table", await c.ReplyAsync());
        Assert.StartsWith("354 ", await c.ReplyAsync());
        // NOOP must end a pipelined group (RFC 2920 §3.1), so QUIT waits for its reply.
        await c.SendAsync("Subject: p\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await c.ReplyAsync());
        Assert.Equal("250 2.0.0 Ok", await c.ReplyAsync());
        Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
        await server.WaitForMailAsync("example.test", "alice");
        await server.WaitForLogAsync("disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1/2 data=1 rset=1 noop=1 quit=1 commands=7/8");
        // Once the first recipient is accepted the queue id replaces NOQUEUE, as in Postfix.
        await server.WaitForLogAsync(": reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table; from=<bob@remote.example> to=<nobody@example.test> proto=ESMTP helo=<client.example>");
    }

    [Fact]
    public async Task EhloAnnouncesTheExtensions()
    {
        await using var server = await TestServer.StartAsync("message_size_limit = 1234567");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.Equal("220 mail.example.test ESMTP Omoikane", await c.ReplyAsync());
        await c.SendAsync("EHLO client.example\r\n");
        var lines = await c.ReadReplyAsync();
        Assert.Equal("250-mail.example.test", lines[0]);
        var keywords = lines.Skip(1).Select(l => l[4..]).ToList();
        Assert.Contains("PIPELINING", keywords);
        Assert.Contains("SIZE 1234567", keywords);
        Assert.Contains("8BITMIME", keywords);
        Assert.Contains("ENHANCEDSTATUSCODES", keywords);
        Assert.Contains("SMTPUTF8", keywords);
        Assert.Contains("CHUNKING", keywords);
        Assert.DoesNotContain("VRFY", keywords);
        Assert.DoesNotContain(keywords, k => k.StartsWith("AUTH")); // smtpd_sasl_auth_enable = no on port 25
        Assert.Equal("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery", await c.CommandAsync("VRFY alice"));
        Assert.StartsWith("214", await c.CommandAsync("HELP"));
    }
}
