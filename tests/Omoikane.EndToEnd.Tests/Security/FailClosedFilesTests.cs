using System.Diagnostics;
using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Security;

/// <summary>
/// A hosts.deny the server has no permission to read (mode 000, owned by another user) refuses every
/// client, and check reports it as an error. The server runs as an unprivileged user (nobody, through
/// setpriv) when the tests run as root, since root reads any file whatever its mode.
/// </summary>
public sealed class FailClosedFilesTests : IDisposable
{
    private const int Nobody = 65534;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-fc-" + Guid.NewGuid().ToString("N")[..10]);

    public FailClosedFilesTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>omoikane with args, as nobody when this process is root.</summary>
    internal static ProcessStartInfo Unprivileged(string workingDirectory, params string[] args)
    {
        var psi = OmoikaneProcess.StartInfo(workingDirectory, args);
        if (!IsRoot) return psi;
        var inner = psi.ArgumentList.ToList();
        psi.FileName = "setpriv";
        psi.ArgumentList.Clear();
        foreach (var a in new[] { $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "env", "HOME=/tmp", "dotnet" })
            psi.ArgumentList.Add(a);
        foreach (var a in inner) psi.ArgumentList.Add(a);
        return psi;
    }

    private int WriteConfig()
    {
        var port = OmoikaneProcess.FreePort();
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(_dir, "main.cf"),
            $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = {data}\n{TestDns.MainCfLine}\n");
        File.WriteAllText(Path.Combine(_dir, "master.cf"), $"127.0.0.1:{port} inet n - n - - smtpd\n");
        File.WriteAllText(Path.Combine(_dir, "hosts.deny"), "smtpd: 192.0.2.1\n");
        File.SetUnixFileMode(Path.Combine(_dir, "hosts.deny"), UnixFileMode.None);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        if (IsRoot)
        {
            Assert.Equal(0, Process.Start("chown", ["-R", $"{Nobody}:{Nobody}", data])!.WaitForExit(10000) ? 0 : 1);
            File.SetUnixFileMode(Path.Combine(_dir, "main.cf"), (UnixFileMode)0b110_100_100);
        }
        return port;
    }

    [Fact]
    public async Task AnUnreadableHostsDenyRefusesEveryClient()
    {
        var port = WriteConfig();
        using var server = Process.Start(Unprivileged(_dir, "serve", "--config", _dir))!;
        server.StandardInput.Close();
        var err = server.StandardError.ReadToEndAsync();
        _ = server.StandardOutput.ReadToEndAsync();
        try
        {
            string? greeting = null;
            var deadline = Environment.TickCount64 + 30000;
            while (greeting is null && Environment.TickCount64 < deadline && !server.HasExited)
            {
                try
                {
                    await using var c = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                    greeting = await c.ReplyAsync();
                }
                catch (System.Net.Sockets.SocketException) { await Task.Delay(100); }
            }
            Assert.False(server.HasExited, "serve exited: " + (server.HasExited ? await err : ""));
            Assert.Equal("421 4.7.0 mail.example.test Service unavailable - try again later", greeting);
            var log = Path.Combine(_dir, "data", "log", "maillog");
            var text = await WaitForAsync(log, "refused connect from");
            Assert.Contains($"({Path.Combine(_dir, "hosts.deny")} is unreadable)", text);
            Assert.Contains($"{Path.Combine(_dir, "hosts.deny")}", text[..text.IndexOf("refused connect", StringComparison.Ordinal)]);
        }
        finally
        {
            try { server.Kill(true); } catch (InvalidOperationException) { }
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task CheckReportsAnUnreadableHostsDenyAsAnError()
    {
        WriteConfig();
        using var p = Process.Start(Unprivileged(_dir, "check", "--config", _dir))!;
        p.StandardInput.Close();
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, p.ExitCode);
        var output = await so;
        Assert.Contains(output.Split('\n'), l => l.StartsWith(Path.Combine(_dir, "hosts.deny")) && l.Contains("error") && l.Contains("cannot read"));
    }

    private static async Task<string> WaitForAsync(string path, string text)
    {
        var deadline = Environment.TickCount64 + 15000;
        while (true)
        {
            var content = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
            if (content.Contains(text, StringComparison.Ordinal)) return content;
            if (Environment.TickCount64 > deadline) throw new TimeoutException($"\"{text}\" not in {path}:\n{content}");
            await Task.Delay(50);
        }
    }
}
