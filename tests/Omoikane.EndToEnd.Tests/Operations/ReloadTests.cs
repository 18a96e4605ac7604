using System.Diagnostics;
using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>
/// Reload (in process, and through SIGHUP / omoikane reload on the real program) while a session is open,
/// with a good and a broken configuration; graceful stop on SIGTERM.
/// </summary>
public sealed class ReloadTests
{
    private static void WriteMainCf(string dir, string banner, string extra = "")
        => File.WriteAllText(Path.Combine(dir, "main.cf"), $"""
            myhostname = mail.example.test
            mydestination = example.test, localhost
            data_directory = {dir}/data
            smtpd_error_sleep_time = 0
            smtpd_banner = $myhostname ESMTP {banner}
            {extra}
            """);

    private static async Task<(RawSmtpClient Client, string Greeting)> ConnectAsync(IPEndPoint server)
    {
        var client = await RawSmtpClient.ConnectAsync(server);
        return (client, await client.ReplyAsync());
    }

    private static async Task SendMessageAsync(RawSmtpClient c, string to)
    {
        Assert.StartsWith("250 ", await c.CommandAsync("MAIL FROM:<bob@example.org>"));
        Assert.StartsWith("250 ", await c.CommandAsync($"RCPT TO:<{to}>"));
        Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
        Assert.StartsWith("250 ", await c.CommandAsync("Subject: reload\r\n\r\nbody\r\n."));
    }

    [Fact]
    public async Task ReloadAppliesToNewSessionsAndOpenSessionsKeepTheirSettings()
    {
        await using var server = await TestServer.StartAsync("smtpd_banner = $myhostname ESMTP first\nmessage_size_limit = 100000",
            prepare: dir => File.WriteAllText(Path.Combine(dir, "master.cf"), "127.0.0.1:25 inet n - n - - smtpd\n"));
        server.AddUser("alice@example.test", "pw");
        var smtp = server.EndPoint("127.0.0.1:25");
        var (old, greeting) = await ConnectAsync(smtp);
        await using var oldSession = old;
        Assert.Equal("220 mail.example.test ESMTP first", greeting);
        Assert.Contains("SIZE 100000", await old.ReadReplyAsyncAfter("EHLO old.example"));

        WriteMainCf(server.Directory, "second", "message_size_limit = 200000");
        Assert.True(server.Host.Reload());
        await server.WaitForLogAsync("postfix-omoikane/master[", "reload -- version");

        // The open session goes on with the settings it started with.
        Assert.Contains("SIZE 100000", await old.ReadReplyAsyncAfter("EHLO again.example"));
        await SendMessageAsync(old, "alice@example.test");
        // New sessions get the new ones, on the same listener.
        Assert.Equal(smtp, server.EndPoint("127.0.0.1:25"));
        var (fresh, freshGreeting) = await ConnectAsync(smtp);
        await using (fresh)
        {
            Assert.Equal("220 mail.example.test ESMTP second", freshGreeting);
            Assert.Contains("SIZE 200000", await fresh.ReadReplyAsyncAfter("EHLO new.example"));
        }

        // A broken configuration is refused, logged, and the running one stays.
        WriteMainCf(server.Directory, "third", "message_size_limit = lots\nsmtpd_helo_required = perhaps");
        Assert.False(server.Host.Reload());
        var refusal = await server.WaitForLogAsync("error: reload refused, keeping the running configuration:", "message_size_limit = lots");
        Assert.Contains("main.cf:", refusal);
        await server.WaitForLogAsync("reload refused", "smtpd_helo_required = perhaps");
        var (after, afterGreeting) = await ConnectAsync(smtp);
        await using (after) Assert.Equal("220 mail.example.test ESMTP second", afterGreeting);
        Assert.Contains("SIZE 100000", await old.ReadReplyAsyncAfter("EHLO still-old.example"));
        Assert.StartsWith("221 ", await old.CommandAsync("QUIT"));
        await server.WaitForMailAsync("example.test", "alice");
    }

    [Fact]
    public async Task ReloadAddsAndRemovesServicesAndKeepsTheOthers()
    {
        await using var server = await TestServer.StartAsync(
            prepare: dir => File.WriteAllText(Path.Combine(dir, "master.cf"), "127.0.0.1:25 inet n - n - - smtpd\n127.0.0.1:587 inet n - n - - smtpd\n"));
        var keep = server.EndPoint("127.0.0.1:25");
        var gone = server.EndPoint("127.0.0.1:587");
        File.WriteAllText(Path.Combine(server.Directory, "master.cf"), "127.0.0.1:25 inet n - n - - smtpd\n127.0.0.1:110 inet n - n - - pop3d\n");
        Assert.True(server.Host.Reload());
        Assert.Equal(keep, server.EndPoint("127.0.0.1:25"));
        Assert.DoesNotContain(server.Host.Endpoints, e => e.Service.Service == "127.0.0.1:587");
        var pop3 = server.EndPoint("127.0.0.1:110");
        var (p, greeting) = await ConnectAsync(pop3);
        await using (p) Assert.StartsWith("+OK ", greeting);
        await Assert.ThrowsAnyAsync<Exception>(async () => await RawSmtpClient.ConnectAsync(gone));
        await server.WaitForLogAsync("reload: service 127.0.0.1:587 (smtpd) removed");
    }

    [Fact]
    public async Task ReloadRefusesAMissingCertificateAndKeepsTheOldOne()
    {
        await using var server = await TestServer.StartAsync(
            prepare: dir => File.WriteAllText(Path.Combine(dir, "master.cf"), "127.0.0.1:25 inet n - n - - smtpd\n"));
        WriteMainCf(server.Directory, "x", $"smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {server.Directory}/missing.pem");
        Assert.False(server.Host.Reload());
        await server.WaitForLogAsync("reload refused", "missing.pem");
        var (c, greeting) = await ConnectAsync(server.EndPoint("127.0.0.1:25"));
        await using (c) Assert.StartsWith("220 mail.example.test ESMTP", greeting);
    }

    private static string NewConfigDirectory(int port, string banner)
    {
        var dir = Directory.CreateTempSubdirectory("omoikane-ops-").FullName;
        WriteMainCf(dir, banner);
        File.WriteAllText(Path.Combine(dir, "master.cf"), $"127.0.0.1:{port} inet n - n - - smtpd\n");
        return dir;
    }

    private static async Task<string> WaitForFileLineAsync(string path, string fragment, int timeoutMs = 15000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            if (File.Exists(path))
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var text = await new StreamReader(fs).ReadToEndAsync();
                var line = text.Split('\n').FirstOrDefault(l => l.Contains(fragment, StringComparison.Ordinal));
                if (line is not null) return line;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"no line with \"{fragment}\" in {path}");
    }

    private static async Task SignalAsync(Process p, string signal)
    {
        var (code, _, err) = await ExternalProgram.RunAsync("kill", [$"-{signal}", p.Id.ToString()], timeoutMs: 10000);
        Assert.True(code == 0, err);
    }

    [Fact]
    public async Task OmoikaneReloadSignalsTheRunningServer()
    {
        var port = OmoikaneProcess.FreePort();
        var dir = NewConfigDirectory(port, "before");
        try
        {
            var (code, _, err) = await OmoikaneProcess.RunAsync(dir, null, "reload", "--config", dir);
            Assert.Equal(1, code);
            Assert.Contains("no running server", err);

            using var server = await OmoikaneProcess.StartServerAsync(dir, dir, port);
            try
            {
                var pidFile = Path.Combine(dir, "data", "omoikane.pid");
                await WaitForFileLineAsync(pidFile, server.Id.ToString());
                var endpoint = new IPEndPoint(IPAddress.Loopback, port);
                var (old, greeting) = await ConnectAsync(endpoint);
                await using var oldSession = old;
                Assert.EndsWith("ESMTP before", greeting);

                // A broken configuration: omoikane reload refuses to signal, and a SIGHUP sent anyway is refused by the server.
                WriteMainCf(dir, "broken", "smtpd_timeout = soon");
                (code, _, err) = await OmoikaneProcess.RunAsync(dir, null, "reload", "--config", dir);
                Assert.Equal(1, code);
                Assert.Contains("smtpd_timeout = soon", err);
                await SignalAsync(server, "HUP");
                var maillog = Path.Combine(dir, "data", "log", "maillog");
                await WaitForFileLineAsync(maillog, "reload refused, keeping the running configuration");
                var (c1, g1) = await ConnectAsync(endpoint);
                await using (c1) Assert.EndsWith("ESMTP before", g1);
                Assert.False(server.HasExited);

                WriteMainCf(dir, "after");
                (code, _, err) = await OmoikaneProcess.RunAsync(dir, null, "reload", "--config", dir);
                Assert.True(code == 0, err);
                Assert.Contains($"process {server.Id}", err);
                await WaitForFileLineAsync(maillog, "reload -- version");
                var (c2, g2) = await ConnectAsync(endpoint);
                await using (c2) Assert.EndsWith("ESMTP after", g2);
                Assert.StartsWith("250", await old.CommandAsync("NOOP"));
                Assert.StartsWith("221 ", await old.CommandAsync("QUIT"));
            }
            finally
            {
                if (!server.HasExited) server.Kill(true);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task SigtermStopsAcceptingLetsTheOpenSessionFinishAndExits()
    {
        var port = OmoikaneProcess.FreePort();
        var dir = NewConfigDirectory(port, "ready");
        try
        {
            using var server = await OmoikaneProcess.StartServerAsync(dir, dir, port);
            try
            {
                var (code, _, err) = await OmoikaneProcess.RunAsync(dir, "pw\n", "user add alice@example.test --password-stdin --config".Split(' ').Append(dir).ToArray());
                Assert.True(code == 0, err);
                var endpoint = new IPEndPoint(IPAddress.Loopback, port);
                var (session, _) = await ConnectAsync(endpoint);
                await using var openSession = session;
                Assert.StartsWith("250", await session.CommandAsync("EHLO client.example"));

                await SignalAsync(server, "TERM");
                var maillog = Path.Combine(dir, "data", "log", "maillog");
                await WaitForFileLineAsync(maillog, "terminating on signal 15");
                // No new connections...
                var deadline = Environment.TickCount64 + 10000;
                var refused = false;
                while (!refused && Environment.TickCount64 < deadline)
                {
                    try { await using var probe = await RawSmtpClient.ConnectAsync(endpoint); await Task.Delay(100); }
                    catch (Exception) { refused = true; }
                }
                Assert.True(refused, "the server still accepts connections after SIGTERM");
                // ...but the open session finishes its message.
                await SendMessageAsync(session, "alice@example.test");
                Assert.StartsWith("221 ", await session.CommandAsync("QUIT"));
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await server.WaitForExitAsync(cts.Token);
                Assert.Equal(0, server.ExitCode);
                Assert.False(File.Exists(Path.Combine(dir, "data", "omoikane.pid")));
                // Messages still queued (queue/messages; emptied files kept for reuse in queue/free are not messages).
                var queued = Directory.GetFiles(Path.Combine(dir, "data", "queue", "messages")).Length;
                var delivered = Directory.Exists(Path.Combine(dir, "data", "mail", "example.test", "alice", "new"))
                    ? Directory.GetFiles(Path.Combine(dir, "data", "mail", "example.test", "alice", "new")).Length : 0;
                Assert.Equal(1, queued + delivered);
            }
            finally
            {
                if (!server.HasExited) server.Kill(true);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

internal static class RawSmtpClientExtensions
{
    /// <summary>Sends a command and returns every line of its reply joined by newlines.</summary>
    public static async Task<string> ReadReplyAsyncAfter(this RawSmtpClient client, string command)
    {
        await client.SendAsync(command + "\r\n");
        return string.Join("\n", await client.ReadReplyAsync());
    }
}
