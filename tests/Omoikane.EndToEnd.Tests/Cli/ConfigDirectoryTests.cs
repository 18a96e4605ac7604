using System.Diagnostics;
using System.Text.Json.Nodes;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Cli;

/// <summary>
/// How every command finds its configuration (--config, $OMOIKANE_CONFIG, /etc/omoikane, embedded default),
/// relative paths, serve/reload refusing what check rejects, status, and a clean stop.
/// </summary>
public sealed class ConfigDirectoryTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-cfg-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string _elsewhere = Path.Combine(Path.GetTempPath(), "omoikane-cwd-" + Guid.NewGuid().ToString("N")[..10]);
    private static readonly Dictionary<string, string?> NoEnv = new() { ["OMOIKANE_CONFIG"] = null };

    public ConfigDirectoryTests()
    {
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(_elsewhere);
        File.WriteAllText(Path.Combine(_dir, "main.cf"), $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = state\n{TestDns.MainCfLine}\n");
    }

    public void Dispose()
    {
        foreach (var d in new[] { _dir, _elsewhere })
            try { Directory.Delete(d, true); } catch (IOException) { }
    }

    private Task<(int Code, string Out, string Err)> Run(IDictionary<string, string?> env, params string[] args)
        => OmoikaneProcess.RunWithEnvAsync(_elsewhere, env, null, args);

    [Fact]
    public async Task EnvironmentNamesTheDirectoryAndConfigOptionWins()
    {
        var fromEnv = await Run(new Dictionary<string, string?> { ["OMOIKANE_CONFIG"] = _dir }, "config", "mydestination");
        Assert.Equal(0, fromEnv.Code);
        Assert.Equal("mydestination = example.test", fromEnv.Out.Trim());

        var option = await Run(new Dictionary<string, string?> { ["OMOIKANE_CONFIG"] = Path.Combine(_elsewhere, "nothing-here") }, "config", "mydestination", "--config", _dir);
        Assert.Equal(0, option.Code);
        Assert.Equal("mydestination = example.test", option.Out.Trim());

        // Neither (and no /etc/omoikane/main.cf on a test machine): the embedded default.
        if (!File.Exists("/etc/omoikane/main.cf"))
            Assert.Equal("mydestination = localhost", (await Run(NoEnv, "config", "mydestination")).Out.Trim());
    }

    [Fact]
    public async Task RelativePathsAreTakenFromTheConfigurationDirectory()
    {
        File.AppendAllText(Path.Combine(_dir, "main.cf"), "smtpd_tls_cert_file = certs/mail.pem\n");
        var r = await Run(NoEnv, "config", "-x", "data_directory", "smtpd_tls_cert_file", "user_database", "--config", _dir);
        Assert.Equal(0, r.Code);
        Assert.Equal(
            [$"data_directory = {_dir}/state", $"smtpd_tls_cert_file = {_dir}/certs/mail.pem", $"user_database = {_dir}/state/users"],
            r.Out.Trim().Split('\n'));
        Assert.Equal(0, (await OmoikaneProcess.RunWithEnvAsync(_elsewhere, new Dictionary<string, string?> { ["OMOIKANE_CONFIG"] = _dir }, "pw\n", "user", "add", "alice@example.test", "--password-stdin")).Code);
        Assert.True(File.Exists(Path.Combine(_dir, "state", "users")));
        Assert.False(Directory.Exists(Path.Combine(_elsewhere, "state")));
    }

    [Fact]
    public async Task ServeAndReloadRefuseWhatCheckRejectsNamingFileAndLine()
    {
        // An error only the full check finds (compiling the restriction list), not the main.cf parser.
        File.AppendAllText(Path.Combine(_dir, "main.cf"), "smtpd_client_restrictions = reject_bogus\n");
        var port = OmoikaneProcess.FreePort();
        File.WriteAllText(Path.Combine(_dir, "master.cf"), $"127.0.0.1:{port} inet n - n - - smtpd\n");
        var main = Path.Combine(_dir, "main.cf");
        var check = await Run(NoEnv, "check", "--config", _dir);
        Assert.Equal(1, check.Code);
        Assert.Contains($"{main}:5: error:", check.Err);
        Assert.Contains("unknown smtpd restriction \"reject_bogus\"", check.Err);

        var serve = await Run(NoEnv, "serve", "--config", _dir);
        Assert.NotEqual(0, serve.Code);
        Assert.Contains($"{main}:5: error:", serve.Err);
        Assert.DoesNotContain("listening", serve.Err);

        var reload = await Run(NoEnv, "reload", "--config", _dir);
        Assert.NotEqual(0, reload.Code);
        Assert.Contains($"{main}:5: error:", reload.Err);
    }

    [Fact]
    public async Task StatusReportsTheServerAndACleanStopLogsNoWarning()
    {
        var port = OmoikaneProcess.FreePort();
        File.WriteAllText(Path.Combine(_dir, "master.cf"), $"127.0.0.1:{port} inet n - n - - smtpd\n");
        var stopped = await Run(NoEnv, "status", "--config", _dir);
        Assert.Equal(1, stopped.Code);
        Assert.StartsWith("omoikane is not running", stopped.Out);
        Assert.False((bool)JsonNode.Parse((await Run(NoEnv, "status", "--json", "--config", _dir)).Out)!["running"]!);

        using var server = await OmoikaneProcess.StartServerAsync(_elsewhere, _dir, port);
        try
        {
            var s = await Run(NoEnv, "status", "--json", "--config", _dir);
            Assert.Equal(0, s.Code);
            var j = JsonNode.Parse(s.Out)!;
            Assert.True((bool)j["running"]!);
            Assert.Equal(server.Id, (int)j["pid"]!);
            Assert.Equal($"127.0.0.1:{port}", (string)j["listeners"]![0]!["endpoint"]!);
            Assert.Equal(0, (int)j["queue"]!["deferred"]!);
            Assert.Equal(0, (int)j["queue"]!["active"]!);
            var text = await Run(NoEnv, "status", "--config", _dir);
            Assert.Contains($"omoikane is running (pid {server.Id})", text.Out);
            Assert.Contains($"listener: smtpd 127.0.0.1:{port}", text.Out);

            // SIGTERM: a clean stop, exit 0, and not one warning in the log.
            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString()])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(cts.Token);
            Assert.Equal(0, server.ExitCode);
        }
        finally { if (!server.HasExited) server.Kill(true); }
        var log = await File.ReadAllTextAsync(Path.Combine(_dir, "state", "log", "maillog"));
        Assert.DoesNotContain("warning", log);
        Assert.Equal(1, (await Run(NoEnv, "status", "--config", _dir)).Code);
    }
}
