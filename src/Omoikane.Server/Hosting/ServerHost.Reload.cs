using System.Net.Sockets;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Hosting;

/// <summary>Reload (SIGHUP, omoikane reload): re-read the configuration and apply it to new sessions.</summary>
public sealed partial class ServerHost
{
    /// <summary>Parameters read once by components shared by every service; a reload reports their changes as needing a restart.</summary>
    private static readonly string[] RestartOnly =
    [
        "data_directory", "queue_directory", "virtual_mailbox_base", "maillog_file", "user_database", "dns_servers",
        "dns_timeout", "mydestination", "myorigin", "recipient_delimiter", "relayhost", "transport_maps",
        "maximal_queue_lifetime", "bounce_queue_lifetime", "minimal_backoff_time", "maximal_backoff_time",
        "queue_run_delay", "smtp_helo_name", "smtp_tls_security_level", "pop_before_smtp_lifetime",
    ];

    /// <summary>
    /// Re-reads main.cf, master.cf, the lookup tables, the certificates and hosts.allow / hosts.deny (SIGHUP,
    /// omoikane reload). A configuration with errors is refused, with every error logged, and the running one
    /// stays. Otherwise connections accepted from now on get the new settings, while open sessions finish on
    /// the settings they started with; services new in master.cf start listening, services gone from it
    /// stop accepting (their sessions get <see cref="StopGrace"/> to finish).
    /// </summary>
    public bool Reload()
    {
        lock (_reloadGate)
        {
            if (Config.ConfigDirectory is null)
            {
                Log.Info("master", "reload -- embedded default configuration: nothing to re-read");
                return true;
            }
            var config = ConfigLoader.Load(Config.ConfigDirectory);
            var errors = new ConfigDiagnostics();
            foreach (var e in config.Diagnostics.Errors) errors.Error(e.File, e.Line, e.Message);
            Dictionary<string, ServiceRuntime> runtimes = new();
            List<string> warnings = new();
            var tables = new TableFactory(config.ConfigDirectory);
            var aliases = new List<ILookupTable>();
            DomainClassifier? domains = null;
            var previousAccess = _hostsAccess;
            if (!errors.HasErrors)
            {
                try
                {
                    if (config.Main.Get("hosts_access_directory") != Config.Main.Get("hosts_access_directory"))
                        _hostsAccess = CreateHostsAccess(config.Main);
                    aliases.AddRange(config.Main.GetList("alias_maps").Select(spec => tables.CreateAliasMap(spec, errors, config.MainCfPath)).OfType<ILookupTable>());
                    // Its diagnostics are the policy's (same mydestination), reported by BuildRuntimes.
                    domains = new DomainClassifier(config.Main, tables, new ConfigDiagnostics(), LocalAddresses());
                    runtimes = BuildRuntimes(config, tables, errors, out warnings);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException
                                               or InvalidOperationException or System.Security.Cryptography.CryptographicException)
                {
                    errors.Error(config.MainCfPath, 0, ex.Message);
                }
            }
            if (errors.HasErrors)
            {
                _hostsAccess = previousAccess;
                foreach (var e in errors.Errors) Log.Error("master", $"reload refused, keeping the running configuration: {e}");
                return false;
            }
            foreach (var w in config.Diagnostics.Warnings) Log.Warning("master", w.ToString());
            foreach (var w in warnings) Log.Warning("smtpd", w);
            foreach (var name in RestartOnly)
                if (config.Main.Get(name) != Config.Main.Get(name))
                    Log.Warning("master", $"reload: {name} changed; the new value takes effect at the next restart");
            _hostsAccess.RefreshIfChanged(force: true);
            _aliasMaps.Set(aliases);
            Local.Reconfigure(config.Main, domains!);
            ApplyServices(config, runtimes);
            Config = config;
            Log.Info("master", $"reload -- version {typeof(ServerHost).Assembly.GetName().Version?.ToString(3)}, configuration {config.ConfigDirectory}");
            return true;
        }
    }

    private void ApplyServices(LoadedConfig config, Dictionary<string, ServiceRuntime> runtimes)
    {
        lock (_listeners)
        {
            var wanted = config.Services.Where(s => runtimes.ContainsKey(ServiceKey(s))).ToDictionary(ServiceKey, StringComparer.Ordinal);
            for (int i = _listeners.Count - 1; i >= 0; i--)
            {
                var (service, listener) = _listeners[i];
                var key = ServiceKey(service);
                if (wanted.TryGetValue(key, out var newService))
                {
                    var runtime = runtimes[key];
                    listener.SetHandler(runtime.Handler);
                    listener.Admit = runtime.Gate.AdmitAsync;
                    listener.Limit = runtime.Limit;
                    _listeners[i] = (newService, listener);
                    continue;
                }
                _listeners.RemoveAt(i);
                Log.Info("master", $"reload: service {service.Service} ({service.Command}) removed; no longer accepting on {listener.EndPoint}");
                lock (_retiring) _retiring.Add(RetireAsync(listener));
            }
            var running = _listeners.Select(l => ServiceKey(l.Service)).ToHashSet(StringComparer.Ordinal);
            foreach (var (key, service) in wanted)
            {
                if (running.Contains(key)) continue;
                foreach (var ep in EndPointsFor(service, config.For(service), _options))
                {
                    try
                    {
                        var listener = NewListener(service, ep, runtimes[key]);
                        listener.Start();
                        _listeners.Add((service, listener));
                        Log.Info("master", $"reload: service {service.Service} ({service.Command}) added, listening on {listener.EndPoint}");
                    }
                    catch (SocketException ex)
                    {
                        Log.Error("master", $"reload: cannot listen on {ep} for service {service.Service}: {ex.Message}");
                    }
                }
            }
        }
    }

    private static async Task RetireAsync(Listener listener)
    {
        await listener.StopAsync(StopGrace).ConfigureAwait(false);
        await listener.DisposeAsync().ConfigureAwait(false);
    }
}
