using System.Net;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>Small helpers shared by the hostile-input tests.</summary>
internal static class Hostile
{
    public static readonly Encoding Latin1 = Encoding.Latin1;

    /// <summary>Connects, reads the banner and (unless helo is empty) sends EHLO.</summary>
    public static async Task<RawSmtpClient> OpenSmtpAsync(IPEndPoint server, string helo = "client.example")
    {
        var c = await RawSmtpClient.ConnectAsync(server);
        Assert.StartsWith("220 ", await c.ReplyAsync());
        if (helo.Length > 0) Assert.StartsWith("250 ", await c.CommandAsync("EHLO " + helo));
        return c;
    }

    /// <summary>The server still serves: a new client gets the banner, EHLO and NOOP answered.</summary>
    public static async Task AssertStillServesSmtpAsync(IPEndPoint server)
    {
        await using var c = await OpenSmtpAsync(server);
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
    }

    /// <summary>The POP3 service still serves: a new client gets +OK and CAPA.</summary>
    public static async Task AssertStillServesPop3Async(IPEndPoint server)
    {
        await using var c = await RawSmtpClient.ConnectAsync(server);
        Assert.StartsWith("+OK ", await c.ReadLineAsync());
        await c.SendAsync("NOOP\r\n");
        Assert.Equal("-ERR Not logged in.", await c.ReadLineAsync());
        await c.SendAsync("QUIT\r\n");
        Assert.Equal("+OK Logging out.", await c.ReadLineAsync());
    }

    /// <summary>Sends bytes given as a Latin-1 string (every char one byte, so NUL and 8-bit bytes stay exact).</summary>
    public static Task SendBytesAsync(this RawSmtpClient c, string latin1) => c.SendAsync(Latin1.GetBytes(latin1));

    public static async Task<string> Pop3Async(this RawSmtpClient c, string command)
    {
        await c.SendAsync(command + "\r\n");
        return await c.ReadLineAsync() ?? throw new IOException("connection closed after " + command);
    }

    /// <summary>Reads a POP3 multi-line response body up to the terminating "." line.</summary>
    public static async Task<List<string>> Pop3MultiLineAsync(this RawSmtpClient c)
    {
        var lines = new List<string>();
        for (int i = 0; i < 100000; i++)
        {
            var l = await c.ReadLineAsync() ?? throw new IOException("connection closed in multi-line response");
            if (l == ".") return lines;
            lines.Add(l);
        }
        throw new InvalidOperationException("multi-line response too long");
    }

    /// <summary>Sends one message over an open session (after EHLO); returns the final reply.</summary>
    public static async Task<string> SendMessageAsync(this RawSmtpClient c, string from, string to, string subject, string body = "body")
    {
        await c.SendAsync($"MAIL FROM:<{from}>\r\nRCPT TO:<{to}>\r\nDATA\r\n");
        var mail = await c.ReplyAsync(); var rcpt = await c.ReplyAsync(); var data = await c.ReplyAsync();
        if (!data.StartsWith("354", StringComparison.Ordinal)) return $"{mail} | {rcpt} | {data}";
        await c.SendAsync($"Subject: {subject}\r\nMessage-ID: <{subject}@client.example>\r\n\r\n{body}\r\n.\r\n");
        return await c.ReplyAsync();
    }

    public static string SubjectOf(string file)
        => File.ReadLines(file).First(l => l.StartsWith("Subject: ", StringComparison.Ordinal))["Subject: ".Length..];

    /// <summary>
    /// Reads exactly count copies of a reply straight from the stream (for floods: the line reader of
    /// RawSmtpClient is made for a few replies); calls sample every 64 KiB; fails on any other byte.
    /// </summary>
    public static async Task ExpectRepeatedAsync(RawSmtpClient c, string reply, long count, int timeoutMs, Action? sample = null)
    {
        var pattern = Encoding.ASCII.GetBytes(reply);
        var total = pattern.LongLength * count;
        var buf = new byte[65536];
        long got = 0;
        using var cts = new CancellationTokenSource(timeoutMs);
        while (got < total)
        {
            var n = await c.Stream.ReadAsync(buf.AsMemory(0, (int)Math.Min(buf.Length, total - got)), cts.Token);
            if (n == 0) throw new IOException($"connection closed after {got / pattern.Length} replies");
            for (int i = 0; i < n; i++)
                if (buf[i] != pattern[(got + i) % pattern.Length])
                    throw new InvalidDataException($"unexpected byte at reply {(got + i) / pattern.Length}");
            got += n;
            sample?.Invoke();
        }
    }
}
