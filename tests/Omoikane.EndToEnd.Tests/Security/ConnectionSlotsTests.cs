using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Omoikane.EndToEnd.Tests.Reliability;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Security;

/// <summary>
/// Slots before handshakes: the per-client connection limits are applied when a connection is accepted,
/// before any TLS work; a TLS handshake has its own short deadline (smtpd_starttls_timeout); and a session
/// that starts while its service is at its process limit runs with the stress values of its parameters.
/// </summary>
public sealed class ConnectionSlotsTests
{
    private const string NoExceptions = "smtpd_client_event_limit_exceptions =\n";

    /// <summary>A TCP connection from source that sends nothing (no ClientHello, no command).</summary>
    private static async Task<Socket> OpenIdleAsync(IPEndPoint server, string source = "127.0.0.1")
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await s.ConnectAsync(server, cts.Token);
        return s;
    }

    /// <summary>Waits (bounded) until the server closes the socket; returns how long that took, or null if it did not.</summary>
    private static async Task<TimeSpan?> ClosedWithinAsync(Socket s, TimeSpan bound)
    {
        var sw = Stopwatch.StartNew();
        var buf = new byte[512];
        using var cts = new CancellationTokenSource(bound);
        try
        {
            while (await s.ReceiveAsync(buf, SocketFlags.None, cts.Token) > 0) { }
            return sw.Elapsed;
        }
        catch (OperationCanceledException) { return null; }
        catch (SocketException) { return sw.Elapsed; }
    }

    /// <summary>The server closed the connection: readable with nothing to read (end of stream), or reset.</summary>
    private static bool IsClosed(Socket s)
    {
        try { return s.Poll(0, SelectMode.SelectRead) && s.Available == 0; }
        catch (SocketException) { return true; }
    }

    [Fact]
    public async Task IdleConnectionsWithoutAClientHelloCannotLockOutAnotherClient()
    {
        await using var server = await TestServer.StartAsync(
            "smtpd_client_connection_count_limit = 3\n" + NoExceptions,
            "127.0.0.1:465 inet n - n - 5 smtpd\n  -o smtpd_tls_wrappermode=yes\n");
        var smtps = server.EndPoint("127.0.0.1:465");
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 10; i++) idle.Add(await OpenIdleAsync(smtps));
            // Those beyond the limit are closed at once, without any TLS work; the three others stay open.
            var open = new List<Socket>(idle);
            var deadline = Environment.TickCount64 + 10000;
            while (open.Count > 3 && Environment.TickCount64 < deadline)
            {
                open.RemoveAll(IsClosed);
                await Task.Delay(20);
            }
            Assert.Equal(3, open.Count);
            await Task.Delay(300);
            Assert.DoesNotContain(open, IsClosed);
            await server.WaitForLogAsync("warning: Connection concurrency limit exceeded: 4 from unknown[127.0.0.1] for service submissions");

            // Another client still gets a slot, a handshake and the banner.
            using var other = await OpenIdleAsync(smtps, "127.0.0.2");
            await using var tls = new SslStream(new NetworkStream(other), false, (_, _, _, _) => true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "mail.example.test" }, cts.Token);
            var buf = new byte[256];
            var n = await tls.ReadAsync(buf, cts.Token);
            Assert.StartsWith("220 mail.example.test", Encoding.ASCII.GetString(buf, 0, n));
        }
        finally { foreach (var s in idle) s.Dispose(); }
    }

    [Fact]
    public async Task AHandshakeThatNeverStartsIsCutAtSmtpdStarttlsTimeout()
    {
        await using var server = await TestServer.StartAsync(
            "smtpd_starttls_timeout = 2s\nsmtpd_timeout = 300s\n",
            "127.0.0.1:465 inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n");
        using var idle = await OpenIdleAsync(server.EndPoint("127.0.0.1:465"));
        var elapsed = await ClosedWithinAsync(idle, TimeSpan.FromSeconds(15));
        Assert.NotNull(elapsed);
        Assert.InRange(elapsed.Value.TotalSeconds, 1.5, 8);
        await server.WaitForLogAsync("lost connection after CONNECT from");
    }

    [Fact]
    public async Task Pop3RefusesTheClientBeyondItsConnectionLimit()
    {
        await using var server = await TestServer.StartAsync(
            "pop3d_client_connection_count_limit = 2\n" + NoExceptions, "127.0.0.1:110 inet n - n - - pop3d\n");
        var pop3 = server.EndPoint("127.0.0.1:110");
        var held = new List<RawSmtpClient>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var c = await RawSmtpClient.ConnectAsync(pop3);
                held.Add(c);
                Assert.StartsWith("+OK ", await c.ReadLineAsync());
            }
            await using (var third = await RawSmtpClient.ConnectAsync(pop3))
            {
                Assert.Equal("-ERR [SYS/TEMP] Too many connections from 127.0.0.1", await third.ReadLineAsync());
                Assert.True(await third.IsClosedAsync());
            }
            await server.WaitForLogAsync("warning: Connection concurrency limit exceeded: 3 from unknown[127.0.0.1] for service pop3");
            // Another address is not affected, and a slot freed is a slot again.
            await using (var other = await RawSmtpClient.ConnectAsync(pop3, IPAddress.Parse("127.0.0.2")))
                Assert.StartsWith("+OK ", await other.ReadLineAsync());
            await held[0].DisposeAsync();
            held.RemoveAt(0);
            var deadline = Environment.TickCount64 + 5000;
            string? line;
            do
            {
                await using var again = await RawSmtpClient.ConnectAsync(pop3);
                line = await again.ReadLineAsync();
                if (line?.StartsWith("+OK ", StringComparison.Ordinal) == true) break;
                await Task.Delay(50);
            } while (Environment.TickCount64 < deadline);
            Assert.StartsWith("+OK ", line);
        }
        finally { foreach (var h in held) await h.DisposeAsync(); }
    }

    [Fact]
    public async Task ASessionStartedAtTheProcessLimitRunsWithTheStressValues()
    {
        await using var server = await TestServer.StartAsync(
            "smtpd_timeout = ${stress?{2}:{300}}s\n", "127.0.0.1:25 inet n - n - 2 smtpd\n");
        var smtp = server.EndPoint();
        await using var first = await Hostile.OpenSmtpAsync(smtp);
        await using var second = await RawSmtpClient.ConnectAsync(smtp);
        Assert.StartsWith("220 ", await second.ReplyAsync());
        var sw = Stopwatch.StartNew();

        // The session that took the last slot is cut after the stress timeout; the first keeps its 300 s.
        Assert.Equal("421 4.4.2 mail.example.test Error: timeout exceeded", await second.ReadLineAsync(15000));
        Assert.InRange(sw.Elapsed.TotalSeconds, 1, 8);
        Assert.True(await second.IsClosedAsync());
        Assert.Equal("250 2.0.0 Ok", await first.CommandAsync("NOOP"));
        var warning = await server.WaitForLogAsync($"has reached its process limit \"2\": new clients may experience noticeable delays");
        Assert.Contains($"master[", warning);
        Assert.Contains($"warning: service \"127.0.0.1:25\" ({smtp.Port}) has reached its process limit", warning);
        await server.WaitForLogAsync("STRESS_README");
    }
}
