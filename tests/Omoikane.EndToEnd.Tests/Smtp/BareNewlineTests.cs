using System.Diagnostics;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>
/// smtpd_forbid_bare_newline with Postfix 3.9's meanings, for DATA and BDAT alike, and the per-record
/// deadline of BDAT chunks. Clients come from 127.0.0.1, outside mynetworks (so not excluded) unless said.
/// </summary>
public sealed class BareNewlineTests
{
    private const string Stranger = "mynetworks = 127.0.0.254/32";
    private const string Reject = "smtpd_forbid_bare_newline = reject\nmynetworks = 127.0.0.254/32";

    private static async Task<RawSmtpClient> OpenTransactionAsync(TestServer server)
    {
        var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        await c.SendAsync("EHLO client.example\r\n");
        await c.ReadReplyAsync();
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<bob@remote.example>"));
        Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<alice@example.test>"));
        return c;
    }

    private static async Task<string> OnlyMessageAsync(TestServer server)
    {
        var files = await server.WaitForMailAsync("example.test", "alice");
        await Task.Delay(300);
        Assert.Single(Directory.GetFiles(server.MaildirNew("example.test", "alice")));
        return Encoding.UTF8.GetString(await File.ReadAllBytesAsync(files[0]));
    }

    private static async Task AssertNothingDeliveredAsync(TestServer server)
    {
        await Task.Delay(300);
        var dir = server.MaildirNew("example.test", "alice");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0);
    }

    /// <summary>normalize: bare-LF lines are lines (dot-stuffing undone on them too); a lone "." after one ends nothing.</summary>
    [Fact]
    public async Task DefaultNormalizeTakesBareLineFeedsAsLineEnds()
    {
        await using var server = await TestServer.StartAsync(Stranger);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        Assert.StartsWith("354", await c.CommandAsync("DATA"));
        await c.SendAsync("Subject: lf\n\nfirst\n..stuffed\n.\nafter dot\r\nbare\rcr\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        var text = await OnlyMessageAsync(server);
        Assert.Contains("Subject: lf\n\nfirst\n.stuffed\nafter dot\nbare\rcr\n", text);
    }

    /// <summary>Python's smtplib.sendmail() with a bytes message and LF line ends (it adds CRLF.CRLF itself).</summary>
    [SkippableFact]
    public async Task PythonSmtplibWithLineFeedEndsIsAcceptedByDefault()
    {
        ExternalProgram.SkipUnlessInstalled("python3", "python3");
        await using var server = await TestServer.StartAsync(Stranger);
        server.AddUser("alice@example.test", "x");
        var script = $"""
            import smtplib
            s = smtplib.SMTP('127.0.0.1', {server.Port()}, local_hostname='client.example', timeout=20)
            s.sendmail('bob@remote.example', ['alice@example.test'], b'Subject: from python\n\nline one\n.leading dot\nline three\n')
            s.quit()
            """;
        var (code, stdout, stderr) = await ExternalProgram.RunAsync("python3", ["-c", script], timeoutMs: 30000);
        Assert.True(code == 0, stdout + stderr);
        var text = await OnlyMessageAsync(server);
        Assert.Contains("Subject: from python\n\nline one\n.leading dot\nline three\n", text);
    }

    [Fact]
    public async Task RejectRefusesBareLineFeedInData()
    {
        await using var server = await TestServer.StartAsync(Reject);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        Assert.StartsWith("354", await c.CommandAsync("DATA"));
        await c.SendAsync("Subject: lf\n\nbody\r\n.\r\n");
        Assert.Equal("550 5.5.2 Error: bare <LF> received", await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
        await AssertNothingDeliveredAsync(server);
    }

    /// <summary>BDAT content follows smtpd_forbid_bare_newline = reject exactly as DATA does.</summary>
    [Fact]
    public async Task RejectRefusesBareLineFeedInBdat()
    {
        await using var server = await TestServer.StartAsync(Reject);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        var chunk = "Subject: lf\n\nbody\r\n";
        await c.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}");
        Assert.Equal("550 5.5.2 Error: bare <LF> received", await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
        await AssertNothingDeliveredAsync(server);
    }

    /// <summary>A bare LF in a first, non-final chunk is refused at once, not after LAST.</summary>
    [Fact]
    public async Task RejectRefusesBareLineFeedInAnEarlierBdatChunk()
    {
        await using var server = await TestServer.StartAsync(Reject);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        var first = "Subject: lf\n\n";
        await c.SendAsync($"BDAT {first.Length}\r\n{first}");
        Assert.Equal("550 5.5.2 Error: bare <LF> received", await c.ReplyAsync());
        Assert.True(await c.IsClosedAsync());
        await AssertNothingDeliveredAsync(server);
    }

    [Fact]
    public async Task NormalizeAcceptsBareLineFeedInBdat()
    {
        await using var server = await TestServer.StartAsync(Stranger);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        var chunk = "Subject: lf\n\nbody\r\nmore\n";
        await c.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync());
        Assert.Contains("Subject: lf\n\nbody\nmore\n", await OnlyMessageAsync(server));
    }

    /// <summary>
    /// A BDAT chunk that takes longer than smtpd_timeout in all, each line arriving within it, is received,
    /// as a DATA body would be (per-record deadline).
    /// </summary>
    [Fact]
    public async Task SlowButSteadyBdatChunkIsReceived()
    {
        await using var server = await TestServer.StartAsync("smtpd_timeout = 2s\n" + Stranger);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        var lines = new[] { "Subject: slow\r\n", "\r\n", "one\r\n", "two\r\n", "three\r\n", "four\r\n", "five\r\n" };
        var sw = Stopwatch.StartNew();
        await c.SendAsync($"BDAT {lines.Sum(l => l.Length)} LAST\r\n");
        foreach (var line in lines)
        {
            await c.SendAsync(line);
            await Task.Delay(700);
        }
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(3), "the chunk must take longer than smtpd_timeout");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.ReplyAsync(15000));
        Assert.Contains("one\ntwo\nthree\nfour\nfive\n", await OnlyMessageAsync(server));
    }

    /// <summary>A BDAT chunk that stops arriving is cut after smtpd_timeout.</summary>
    [Fact]
    public async Task StalledBdatChunkTimesOut()
    {
        await using var server = await TestServer.StartAsync("smtpd_timeout = 2s\n" + Stranger);
        server.AddUser("alice@example.test", "x");
        await using var c = await OpenTransactionAsync(server);
        await c.SendAsync("BDAT 100 LAST\r\nSubject: stalled\r\n");
        var sw = Stopwatch.StartNew();
        Assert.Equal("421 4.4.2 mail.example.test Error: timeout exceeded", await c.ReplyAsync(15000));
        Assert.InRange(sw.Elapsed.TotalSeconds, 1.5, 10);
        Assert.True(await c.IsClosedAsync());
        await AssertNothingDeliveredAsync(server);
    }
}
