using System.Diagnostics;
using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>deploy/omoikane.service checked by systemd itself; the self-contained single-file binary, copied alone, starts and serves.</summary>
public sealed class DeploymentTests
{
    public const string PublishVariable = "OMOIKANE_TEST_PUBLISH";

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Omoikane.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Omoikane.slnx not found above " + AppContext.BaseDirectory);
    }

    private static string UnitText() => File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "omoikane.service"));

    [Fact]
    public void UnitRunsAsItsOwnUserWithOnlyTheBindCapability()
    {
        var lines = UnitText().Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var expected in new[]
        {
            "User=omoikane", "ExecStart=/usr/local/bin/omoikane serve --config /etc/omoikane",
            "ExecReload=/bin/kill -HUP $MAINPID", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/omoikane", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
            "SystemCallFilter=@system-service",
        })
            Assert.Contains(expected, lines);
        Assert.Contains(lines, l => l.StartsWith("RestrictAddressFamilies=", StringComparison.Ordinal) && l.Contains("AF_INET6"));
    }

    /// <summary>Runs systemd-analyze verify on a copy whose program path points at a stand-in executable (verify wants it to exist).</summary>
    private static async Task<(int Code, string Output)> VerifyAsync(string unitText)
    {
        var dir = Directory.CreateTempSubdirectory("omoikane-unit-").FullName;
        try
        {
            var stub = Path.Combine(dir, "omoikane");
            File.WriteAllText(stub, "#!/bin/sh\nexit 0\n");
            File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var unit = Path.Combine(dir, "omoikane.service");
            File.WriteAllText(unit, unitText.Replace("/usr/local/bin/omoikane", stub));
            var (code, stdout, stderr) = await ExternalProgram.RunAsync("systemd-analyze", ["verify", unit], timeoutMs: 60000);
            // Only what concerns this unit: systemd may also complain about unrelated units of the machine.
            var output = string.Join("\n", (stdout + "\n" + stderr).Split('\n').Where(l => l.Contains("omoikane", StringComparison.Ordinal)));
            return (code, output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableFact]
    public async Task UnitPassesSystemdAnalyzeVerify()
    {
        ExternalProgram.SkipUnlessInstalled("systemd-analyze", "systemd");
        var text = UnitText();
        var (code, output) = await VerifyAsync(text);
        Assert.True(code == 0 && output.Length == 0, $"systemd-analyze verify: exit {code}\n{output}");

        // The same check notices a mistake, so its silence above means something.
        var (_, broken) = await VerifyAsync(text.Replace("NoNewPrivileges=yes", "NoNewPrivileges=perhaps"));
        Assert.Contains("Failed to parse boolean value, ignoring: perhaps", broken);
    }

    [SkippableFact]
    public async Task SelfContainedPublishedBinaryServes()
    {
        Skip.If(Environment.GetEnvironmentVariable(PublishVariable) != "1",
            $"publishing takes a minute or more: set {PublishVariable}=1 to run this test");
        var root = RepositoryRoot();
        var dir = Directory.CreateTempSubdirectory("omoikane-publish-").FullName;
        try
        {
            var output = Path.Combine(dir, "out");
            var (code, stdout, stderr) = await ExternalProgram.RunAsync("dotnet",
                ["publish", Path.Combine(root, "src", "Omoikane"), "-c", "Release", "-r", "linux-x64", "--self-contained", "-p:PublishSingleFile=true", "-o", output],
                timeoutMs: 900_000);
            Assert.True(code == 0, stdout + stderr);
            // One file: no assemblies, native libraries or runtimeconfig.json beside it (debug symbols may be).
            var beside = Directory.GetFiles(output).Select(Path.GetFileName).Where(f => f != "omoikane" && !f!.EndsWith(".pdb", StringComparison.Ordinal)).ToList();
            Assert.True(beside.Count == 0, "published next to the program: " + string.Join(", ", beside));
            // The runtime options of the project travel inside it (the host reads the bundled runtimeconfig.json).
            var bundle = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(output, "omoikane")));
            foreach (var option in new[]
            {
                "\"System.IO.DisableFileLocking\": true", "\"System.Globalization.Invariant\": true",
                "\"System.Threading.ThreadPool.UnfairSemaphoreSpinLimit\": 0", "\"System.GC.Server\": false",
            })
                Assert.Contains(option, bundle);

            // Copied alone into an empty directory, it runs.
            var alone = Path.Combine(dir, "bin");
            Directory.CreateDirectory(alone);
            var binary = Path.Combine(alone, "omoikane");
            File.Copy(Path.Combine(output, "omoikane"), binary);
            File.SetUnixFileMode(binary, File.GetUnixFileMode(Path.Combine(output, "omoikane")));
            Directory.Delete(output, recursive: true);

            var config = Path.Combine(dir, "etc");
            Directory.CreateDirectory(config);
            var port = OmoikaneProcess.FreePort();
            File.WriteAllText(Path.Combine(config, "main.cf"), $"myhostname = published.example.test\ndata_directory = {dir}/data\n");
            File.WriteAllText(Path.Combine(config, "master.cf"), $"127.0.0.1:{port} inet n - n - - smtpd\n");
            var psi = new ProcessStartInfo(binary)
            {
                RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = dir,
            };
            foreach (var a in new[] { "serve", "--config", config }) psi.ArgumentList.Add(a);
            // No dotnet on the PATH and no DOTNET_* variable: the binary carries its runtime.
            psi.Environment["PATH"] = "/usr/bin:/bin";
            foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
                psi.Environment.Remove(name);
            using var server = Process.Start(psi)!;
            server.StandardInput.Close();
            var err = server.StandardError.ReadToEndAsync();
            _ = server.StandardOutput.ReadToEndAsync();
            try
            {
                string greeting = "";
                var deadline = Environment.TickCount64 + 30000;
                while (Environment.TickCount64 < deadline)
                {
                    Assert.False(server.HasExited, "serve exited: " + (server.HasExited ? await err : ""));
                    try
                    {
                        await using var c = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                        greeting = await c.ReplyAsync();
                        break;
                    }
                    catch (Exception) { await Task.Delay(200); }
                }
                Assert.StartsWith("220 published.example.test ESMTP", greeting);
                var (k, _, _) = await ExternalProgram.RunAsync("kill", ["-TERM", server.Id.ToString()], timeoutMs: 10000);
                Assert.Equal(0, k);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await server.WaitForExitAsync(cts.Token);
                Assert.Equal(0, server.ExitCode);
                Assert.Contains("smtpd listening on 127.0.0.1:" + port, await err);
            }
            finally
            {
                if (!server.HasExited) server.Kill(true);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
