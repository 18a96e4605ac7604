using System.CommandLine;
using System.Runtime.InteropServices;
using Omoikane.Server.Hosting;

namespace Omoikane.Cli;

/// <summary>
/// omoikane serve: runs the server until SIGTERM/SIGINT (graceful stop); SIGHUP reloads the configuration.
/// While it runs, $data_directory/omoikane.pid holds its process id (omoikane reload reads it) and
/// $data_directory/omoikane.lock is locked, so a second server on the same data directory refuses to start.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var cmd = new Command("serve", "Run the mail server (embedded default without --config: loopback, unprivileged ports)");
        cmd.SetAction(async (parse, ct) =>
        {
            // Socket completions run their continuation on the I/O thread instead of queueing it: one thread
            // switch less per command and reply. Sessions keep slow work off that thread (key derivation
            // and fsync run elsewhere; only small page-cache reads stay). An explicit setting wins.
            if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
                Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
            var config = CliConfig.Load(parse);
            foreach (var w in config.Diagnostics.Warnings) Console.Error.WriteLine($"omoikane: {w}");
            var pidFile = PidFile.PathFor(config);
            DataDirectoryLock dataLock;
            try { dataLock = DataDirectoryLock.Acquire(config.DataDirectory, pidFile); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { throw new CliException(ex.Message); }
            using var heldLock = dataLock;
            ServerHost host;
            try { host = await ServerHost.StartAsync(config); }
            catch (Omoikane.Server.Transport.ListenException ex) { throw new CliException(ex.Message); }
            catch (InvalidOperationException ex)
            {
                throw new CliException("cannot start: " + ex.Message.Replace(Environment.NewLine, Environment.NewLine + "omoikane: cannot start: "));
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new CliException($"cannot listen: {ex.Message}");
            }
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
            var reloads = new SemaphoreSlim(1, 1);
            using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                _ = Task.Run(async () =>
                {
                    await reloads.WaitAsync();
                    try { host.Reload(); }
                    finally { reloads.Release(); }
                });
            });
            PidFile.Write(pidFile);
            foreach (var (service, ep) in host.Endpoints)
                Console.Error.WriteLine($"omoikane: {service.Command} listening on {ep} ({service.Service})");
            Console.Error.WriteLine($"omoikane: data in {config.DataDirectory}; mail for {config.Main.Get("mydestination")} is delivered under {config.MailboxBase}");
            var cfg = config.ConfigDirectory is null ? "" : $" --config {config.ConfigDirectory}";
            Console.Error.WriteLine($"omoikane: add a first user with: echo 'secret' | omoikane{cfg} user add alice@{config.Main.Get("mydestination").Split(',', ' ')[0]} --password-stdin");
            try
            {
                await stop.Task;
                await host.StopAsync(ServerHost.StopGrace);
            }
            finally { PidFile.Remove(pidFile); }
            return 0;
        });
        return cmd;
    }
}
