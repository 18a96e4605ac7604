using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Omoikane.Mail.Config;
using Omoikane.Server.Hosting;

namespace Omoikane.Cli;

/// <summary>
/// omoikane status [--json] (like postfix status): whether the server of this configuration runs (the
/// process named by $data_directory/omoikane.pid exists), its listeners, the queue counts and the
/// certificate's expiry. Exit 0 when it runs, 1 when it does not.
/// </summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "One JSON object" };
        var cmd = new Command("status", "Whether the server runs (pid), its listeners, queue counts, certificate expiry") { json };
        cmd.SetAction(parse =>
        {
            var config = CliConfig.Load(parse);
            var pid = PidFile.Read(PidFile.PathFor(config));
            bool running = pid is int p && PidFile.IsRunning(p);
            var queue = QueueCommands.Counts(config);
            var (certFile, notAfter) = Certificate(config);
            if (parse.GetValue(json))
            {
                var counts = new JsonObject();
                foreach (var (name, n) in queue) counts[name] = n;
                var listeners = new JsonArray();
                foreach (var s in config.Services)
                    listeners.Add(new JsonObject { ["service"] = s.Service, ["command"] = s.Command, ["endpoint"] = s.Endpoint });
                Console.WriteLine(new JsonObject
                {
                    ["running"] = running, ["pid"] = running ? pid : null,
                    ["config_directory"] = config.ConfigDirectory, ["data_directory"] = config.DataDirectory,
                    ["listeners"] = listeners, ["queue"] = counts,
                    ["certificate"] = certFile is null ? null : new JsonObject
                    {
                        ["file"] = certFile,
                        ["not_after"] = notAfter?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    },
                }.ToJsonString());
            }
            else
            {
                Console.WriteLine(running ? $"omoikane is running (pid {pid})" : "omoikane is not running");
                Console.WriteLine($"configuration: {config.ConfigDirectory ?? "(embedded default)"}; data: {config.DataDirectory}");
                foreach (var s in config.Services) Console.WriteLine($"listener: {s.Command} {s.Endpoint} ({s.Service})");
                Console.WriteLine("queue: " + string.Join(", ", queue.Select(q => $"{q.Name} {q.Count}")));
                Console.WriteLine(certFile is null ? "certificate: none yet (a self-signed one is made on first start)"
                    : $"certificate: {certFile} expires {notAfter?.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
            }
            if (!running) Console.Error.WriteLine($"omoikane: the server is not running (no live process in {PidFile.PathFor(config)})");
            return running ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>The certificate served: smtpd_tls_cert_file, else the self-signed one when it exists.</summary>
    private static (string? File, DateTime? NotAfter) Certificate(LoadedConfig config)
    {
        var file = config.Main.Get("smtpd_tls_cert_file");
        var key = config.Main.Get("smtpd_tls_key_file");
        if (file.Length == 0) (file, key) = SelfSignedCertificate.Paths(config.DataDirectory);
        if (!File.Exists(file)) return (null, null);
        try
        {
            using var cert = SelfSignedCertificate.Load(file, key.Length > 0 ? key : file);
            return (file, cert.NotAfter);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return (file, null);
        }
    }
}
