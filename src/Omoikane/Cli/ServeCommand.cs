using System.CommandLine;
using System.Runtime.InteropServices;
using Omoikane.Server.Hosting;

namespace Omoikane.Cli;

/// <summary>omoikane serve: runs the server until SIGTERM/SIGINT.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var cmd = new Command("serve", "Run the mail server (embedded default without --config: loopback, unprivileged ports)");
        cmd.SetAction(async (parse, ct) =>
        {
            var config = CliConfig.Load(parse);
            foreach (var w in config.Diagnostics.Warnings) Console.Error.WriteLine($"omoikane: {w}");
            ServerHost host;
            try { host = await ServerHost.StartAsync(config); }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new CliException($"cannot listen: {ex.Message}");
            }
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
            using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
            foreach (var (service, ep) in host.Endpoints)
                Console.Error.WriteLine($"omoikane: {service.Command} listening on {ep} ({service.Service})");
            Console.Error.WriteLine($"omoikane: data in {config.DataDirectory}; mail for {config.Main.Get("mydestination")} is delivered under {config.MailboxBase}");
            var cfg = config.ConfigDirectory is null ? "" : $" --config {config.ConfigDirectory}";
            Console.Error.WriteLine($"omoikane: add a first user with: echo 'secret' | omoikane{cfg} user add alice@{config.Main.Get("mydestination").Split(',', ' ')[0]} --password-stdin");
            await stop.Task;
            await host.StopAsync(TimeSpan.FromSeconds(10));
            return 0;
        });
        return cmd;
    }
}
