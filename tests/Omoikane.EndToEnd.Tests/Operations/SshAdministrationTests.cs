using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>
/// Administration over SSH: a real OpenSSH server on a loopback port, public-key authentication only, and
/// the admin commands run through "ssh host omoikane ..." without a terminal.
/// </summary>
public sealed class SshAdministrationTests
{
    private static void SkipUnlessOpenSsh()
    {
        ExternalProgram.SkipUnlessInstalled("sshd", "openssh-server");
        ExternalProgram.SkipUnlessInstalled("ssh", "openssh-client");
        ExternalProgram.SkipUnlessInstalled("ssh-keygen", "openssh-client");
        Skip.If(Environment.UserName != "root", "the test runs sshd itself and logs in as root: it needs root");
    }

    /// <summary>sshd -D on 127.0.0.1:port with its own host key, authorized key and pid file in dir.</summary>
    private sealed class SshServer : IAsyncDisposable
    {
        public required Process Process { get; init; }
        public required int Port { get; init; }
        public required string ClientKey { get; init; }
        public required Task<string> Stderr { get; init; }

        public static async Task<SshServer> StartAsync(string dir)
        {
            Directory.CreateDirectory("/run/sshd");
            await KeygenAsync(Path.Combine(dir, "host_key"));
            var clientKey = Path.Combine(dir, "client_key");
            await KeygenAsync(clientKey);
            File.Copy(clientKey + ".pub", Path.Combine(dir, "authorized_keys"));
            var sshd = ExternalProgram.Find("sshd")!;
            for (var attempt = 0; ; attempt++)
            {
                var port = OmoikaneProcess.FreePort();
                var config = Path.Combine(dir, "sshd_config");
                File.WriteAllText(config, $"""
                    ListenAddress 127.0.0.1
                    HostKey {dir}/host_key
                    PidFile {dir}/sshd.pid
                    AuthorizedKeysFile {dir}/authorized_keys
                    PubkeyAuthentication yes
                    PasswordAuthentication no
                    KbdInteractiveAuthentication no
                    PermitRootLogin prohibit-password
                    StrictModes no
                    UsePAM no
                    PermitUserEnvironment no
                    LogLevel VERBOSE

                    """);
                var psi = new ProcessStartInfo(sshd)
                {
                    RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false,
                };
                foreach (var a in new[] { "-D", "-e", "-f", config, "-p", port.ToString() }) psi.ArgumentList.Add(a);
                var p = Process.Start(psi)!;
                p.StandardInput.Close();
                _ = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                if (await WaitListeningAsync(p, port))
                    return new SshServer { Process = p, Port = port, ClientKey = clientKey, Stderr = stderr };
                if (!p.HasExited) p.Kill(true);
                if (attempt == 2) throw new InvalidOperationException("sshd did not start: " + await stderr);
            }
        }

        private static async Task KeygenAsync(string path)
        {
            var (code, _, err) = await ExternalProgram.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path], timeoutMs: 30000);
            Assert.True(code == 0, err);
        }

        private static async Task<bool> WaitListeningAsync(Process p, int port)
        {
            var deadline = Environment.TickCount64 + 15000;
            while (Environment.TickCount64 < deadline && !p.HasExited)
            {
                try
                {
                    using var c = new TcpClient();
                    await c.ConnectAsync(System.Net.IPAddress.Loopback, port);
                    return true;
                }
                catch (SocketException) { await Task.Delay(100); }
            }
            return false;
        }

        /// <summary>ssh -T with BatchMode: no terminal, and no prompt can ever block.</summary>
        public Task<(int Code, string Out, string Err)> RunAsync(string remoteCommand, string? stdin = null)
            => ExternalProgram.RunAsync("ssh",
            [
                "-T", "-i", ClientKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-p", Port.ToString(),
                "root@127.0.0.1", remoteCommand,
            ], stdin, timeoutMs: 60000);

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited) Process.Kill(true);
            await Process.WaitForExitAsync();
            Process.Dispose();
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    [SkippableFact]
    public async Task AdminCommandsWorkOverSshWithPublicKeysOnly()
    {
        SkipUnlessOpenSsh();
        var dir = Directory.CreateTempSubdirectory("omoikane-ssh-").FullName;
        try
        {
            var config = Path.Combine(dir, "etc");
            Directory.CreateDirectory(config);
            File.WriteAllText(Path.Combine(config, "main.cf"), $"""
                myhostname = mail.example.test
                mydestination = example.test
                data_directory = {dir}/data
                """);
            File.WriteAllText(Path.Combine(config, "master.cf"), "127.0.0.1:2525 inet n - n - - smtpd\n");
            await using var ssh = await SshServer.StartAsync(dir);
            var omoikane = $"{Quote(ExternalProgram.Find("dotnet") ?? "dotnet")} {Quote(OmoikaneProcess.Dll)}";

            // The password travels through ssh's stdin; nothing is typed at a terminal.
            var add = await ssh.RunAsync($"{omoikane} user add alice@example.test --password-stdin --config {Quote(config)}", "s3cret pass\n");
            Assert.True(add.Code == 0, $"exit {add.Code}: {add.Err} (sshd: {(ssh.Process.HasExited ? await ssh.Stderr : "running")})");
            var list = await ssh.RunAsync($"{omoikane} user list --config {Quote(config)}");
            Assert.Equal(0, list.Code);
            Assert.Contains("alice@example.test", list.Out);

            var queue = await ssh.RunAsync($"{omoikane} queue list --json --config {Quote(config)}");
            Assert.True(queue.Code == 0, queue.Err);
            using (var json = JsonDocument.Parse(queue.Out))
                Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);

            var check = await ssh.RunAsync($"{omoikane} check --config {Quote(config)}");
            Assert.True(check.Code == 0, check.Out + check.Err);

            // Errors come back as exit codes and one line on stderr, over ssh as locally.
            var dup = await ssh.RunAsync($"{omoikane} user add alice@example.test --password-stdin --config {Quote(config)}", "again\n");
            Assert.NotEqual(0, dup.Code);
            Assert.StartsWith("omoikane: ", dup.Err.Trim());
            File.AppendAllText(Path.Combine(config, "main.cf"), "\nmessage_size_limit = big\n");
            var bad = await ssh.RunAsync($"{omoikane} check --config {Quote(config)}");
            Assert.Equal(1, bad.Code);
            Assert.Contains("message_size_limit = big", bad.Err);   // errors go to stderr

            // A command that needs input never prompts without a terminal: with stdin closed it fails at once.
            var noInput = await ssh.RunAsync($"{omoikane} user passwd alice@example.test --password-stdin --config {Quote(config)} < /dev/null");
            Assert.NotEqual(0, noInput.Code);
            Assert.DoesNotContain("assword:", noInput.Out);

            // Public keys only: without the key the same login is refused, and BatchMode never asks for a password.
            var (code, _, err) = await ExternalProgram.RunAsync("ssh",
            [
                "-T", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null", "-o", "ConnectTimeout=10", "-p", ssh.Port.ToString(),
                "root@127.0.0.1", "true",
            ], timeoutMs: 30000);
            Assert.Equal(255, code);
            Assert.Contains("Permission denied", err);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
