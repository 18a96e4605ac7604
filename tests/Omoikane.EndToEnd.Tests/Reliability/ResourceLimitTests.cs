using System.Diagnostics;
using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>Slow clients, per-client connection count and rate limits, maxproc.</summary>
public sealed class ResourceLimitTests
{
    /// <summary>Sends one byte every interval until the server closes the connection or the bound passes.</summary>
    private static async Task<(TimeSpan Elapsed, string Received)> TrickleAsync(RawSmtpClient c, string bytes, int intervalMs, int boundMs)
    {
        var sw = Stopwatch.StartNew();
        var read = c.ReadLineAsync(boundMs);
        int i = 0;
        while (!read.IsCompleted && sw.ElapsedMilliseconds < boundMs)
        {
            try { await c.SendAsync(bytes[i++ % bytes.Length].ToString()); }
            catch (IOException) { break; }
            await Task.WhenAny(read, Task.Delay(intervalMs));
        }
        var line = await read;
        return (sw.Elapsed, line ?? "");
    }

    [Fact]
    public async Task SmtpSlowlorisIsCutAtSmtpdTimeout()
    {
        await using var server = await TestServer.StartAsync("smtpd_timeout = 2s");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            var (elapsed, line) = await TrickleAsync(c, "NOOP NOOP NOOP NOOP NOOP NOOP ", 500, 10000);
            Assert.Equal("421 4.4.2 mail.example.test Error: timeout exceeded", line);
            Assert.InRange(elapsed.TotalSeconds, 1.5, 4.5);
            Assert.True(await c.IsClosedAsync());
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }

    [Fact]
    public async Task SmtpSlowlorisInsideDataIsCutAtSmtpdTimeout()
    {
        await using var server = await TestServer.StartAsync("smtpd_timeout = 2s");
        server.AddUser("alice@example.test", "x");
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            await c.CommandAsync("MAIL FROM:<bob@remote.example>");
            await c.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.StartsWith("354", await c.CommandAsync("DATA"));
            var (elapsed, line) = await TrickleAsync(c, "slow body without end of line ", 500, 10000);
            Assert.Equal("421 4.4.2 mail.example.test Error: timeout exceeded", line);
            Assert.InRange(elapsed.TotalSeconds, 1.5, 4.5);
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }

    [Fact]
    public async Task Pop3SlowlorisIsCutAtPop3dTimeout()
    {
        await using var server = await TestServer.StartAsync("pop3d_timeout = 2s", "127.0.0.1:25 inet n - n - - smtpd\n127.0.0.1:110 inet n - n - - pop3d\n");
        var pop3 = server.EndPoint("127.0.0.1:110");
        await using (var c = await RawSmtpClient.ConnectAsync(pop3))
        {
            Assert.StartsWith("+OK ", await c.ReadLineAsync());
            var (elapsed, line) = await TrickleAsync(c, "USER alice@example.test ", 500, 10000);
            Assert.Equal("-ERR Disconnected for inactivity.", line);
            Assert.InRange(elapsed.TotalSeconds, 1.5, 4.5);
            Assert.True(await c.IsClosedAsync());
        }
        await Hostile.AssertStillServesPop3Async(pop3);
    }

    [Fact]
    public async Task ConnectionCountLimitRefusesTheClientBeyondItButNotMynetworks()
    {
        await using var server = await TestServer.StartAsync("smtpd_client_connection_count_limit = 2\nmynetworks = 127.0.0.2/32");
        var held = new List<RawSmtpClient>();
        try
        {
            for (int i = 0; i < 2; i++) held.Add(await Hostile.OpenSmtpAsync(server.EndPoint()));
            await using (var third = await RawSmtpClient.ConnectAsync(server.EndPoint(), IPAddress.Parse("127.0.0.1")))
            {
                Assert.Equal("421 4.7.0 mail.example.test Error: too many connections from 127.0.0.1", await third.ReplyAsync());
                Assert.True(await third.IsClosedAsync());
            }
            await server.WaitForLogAsync("warning: Connection concurrency limit exceeded: 3 from unknown[127.0.0.1] for service smtp");
            // A mynetworks client is exempt (smtpd_client_event_limit_exceptions).
            var trusted = new List<RawSmtpClient>();
            for (int i = 0; i < 4; i++)
            {
                var t = await RawSmtpClient.ConnectAsync(server.EndPoint(), IPAddress.Parse("127.0.0.2"));
                trusted.Add(t);
                Assert.StartsWith("220 ", await t.ReplyAsync());
            }
            foreach (var t in trusted) await t.DisposeAsync();
            // Once one closes, the client gets in again.
            await held[0].DisposeAsync();
            held.RemoveAt(0);
            var deadline = Environment.TickCount64 + 5000;
            string reply;
            do
            {
                await using var again = await RawSmtpClient.ConnectAsync(server.EndPoint());
                reply = await again.ReplyAsync();
                if (reply.StartsWith("220 ", StringComparison.Ordinal)) break;
                await Task.Delay(50);
            } while (Environment.TickCount64 < deadline);
            Assert.StartsWith("220 ", reply);
        }
        finally { foreach (var h in held) await h.DisposeAsync(); }
    }

    [Fact]
    public async Task ConnectionRateLimitRefusesConnectionsBeyondItPerTimeUnit()
    {
        await using var server = await TestServer.StartAsync("smtpd_client_connection_rate_limit = 3\nanvil_rate_time_unit = 2s\nmynetworks = 127.0.0.2/32");
        for (int i = 0; i < 3; i++)
        {
            await using var ok = await RawSmtpClient.ConnectAsync(server.EndPoint());
            Assert.StartsWith("220 ", await ok.ReplyAsync());
        }
        await using (var fourth = await RawSmtpClient.ConnectAsync(server.EndPoint()))
        {
            Assert.Equal("421 4.7.0 mail.example.test Error: too many connections from 127.0.0.1", await fourth.ReplyAsync());
            Assert.True(await fourth.IsClosedAsync());
        }
        await server.WaitForLogAsync("warning: Connection rate limit exceeded: 3 from unknown[127.0.0.1] for service smtp");
        // mynetworks is exempt.
        for (int i = 0; i < 5; i++)
        {
            await using var t = await RawSmtpClient.ConnectAsync(server.EndPoint(), IPAddress.Parse("127.0.0.2"));
            Assert.StartsWith("220 ", await t.ReplyAsync());
        }
        // A new time unit starts a new count.
        await Task.Delay(2200);
        await using var later = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await later.ReplyAsync());
    }

    [Fact]
    public async Task ClientBeyondMaxprocGetsNoBannerUntilOneCloses()
    {
        await using var server = await TestServer.StartAsync(masterCf: "127.0.0.1:25 inet n - n - 2 smtpd\n");
        var first = await Hostile.OpenSmtpAsync(server.EndPoint());
        await using var second = await Hostile.OpenSmtpAsync(server.EndPoint());
        // The kernel completes the handshake (listen queue), but no session starts: no banner.
        using var third = new System.Net.Sockets.TcpClient();
        await third.ConnectAsync(server.EndPoint());
        await Task.Delay(1500);
        Assert.Equal(0, third.Available);
        await first.CommandAsync("QUIT");
        await first.DisposeAsync();
        var buf = new byte[256];
        using var cts = new CancellationTokenSource(5000);
        var n = await third.GetStream().ReadAsync(buf, cts.Token);
        Assert.StartsWith("220 ", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        Assert.Equal("250 2.0.0 Ok", await second.CommandAsync("NOOP"));
    }
}
