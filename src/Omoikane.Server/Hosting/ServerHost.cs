using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Omoikane.Mail.Config;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Delivery.Maildir;
using Omoikane.Mail.Delivery.Smtp;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Mail.Queue;
using Omoikane.Server.Pickup;
using Omoikane.Server.Sasl;
using Omoikane.Server.Pop3;
using Omoikane.Server.Smtp;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Hosting;

/// <summary>Options of the running server that are not main.cf parameters.</summary>
public sealed record ServerHostOptions
{
    public bool LogToStderr { get; init; } = true;
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Replaces every listening address's port with 0 (tests: ports chosen by the system).</summary>
    public bool EphemeralPorts { get; init; }
    /// <summary>Extra hook to build the remote transport (the SMTP client) once the queue exists.</summary>
    public Func<ServerHost, IRemoteTransport>? RemoteTransport { get; init; }
}

/// <summary>
/// The whole server in one process: the queue manager and local delivery, and one listener per master.cf
/// service (smtpd, pop3d), all sharing the user store, the DNS resolver, the policy tables and the log.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly List<(MasterService Service, Listener Listener)> _listeners = new();
    private readonly GroupCommit _commit;
    private readonly GroupCommit _deliveryCommit;
    private readonly ServerHostOptions _options;
    private readonly ClientConnectionCounter _counter = new();
    private readonly SwappableTableList _aliasMaps = new();
    private readonly object _reloadGate = new();
    private readonly List<Task> _retiring = new();
    private X509Certificate2? _certificate;
    private HostsAccess _hostsAccess;

    /// <summary>How long stopped listeners' sessions may run on (graceful stop, services removed by a reload).</summary>
    public static TimeSpan StopGrace { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The configuration in force: the one started with, or the last one a reload accepted.</summary>
    public LoadedConfig Config { get; private set; }
    /// <summary>hosts.allow / hosts.deny of hosts_access_directory (default: the configuration directory).</summary>
    public HostsAccess HostsAccess => _hostsAccess;
    public MailLog Log { get; }
    public Spool Spool { get; }
    public QueueManager Queue { get; }
    /// <summary>Local submission: messages left in the maildrop by omoikane sendmail.</summary>
    public PickupService Pickup { get; }
    public IUserStore Users { get; }
    public LocalRecipients Local { get; }
    public IDnsResolver Dns { get; }
    public PopBeforeSmtpRegistry PopBeforeSmtp { get; }
    public AuthThrottle AuthThrottle { get; }
    public MaildirWriter Maildir { get; }
    public TableFactory Tables { get; }
    /// <summary>Delivery to other hosts: the SMTP client unless <see cref="ServerHostOptions.RemoteTransport"/> replaces it.</summary>
    public IRemoteTransport RemoteTransport { get; }
    public IReadOnlyList<(MasterService Service, IPEndPoint EndPoint)> Endpoints
    {
        get { lock (_listeners) return _listeners.Select(l => (l.Service, l.Listener.EndPoint)).ToList(); }
    }

    private ServerHost(LoadedConfig config, ServerHostOptions options)
    {
        Config = config;
        _options = options;
        var main = config.Main;
        Directory.CreateDirectory(config.DataDirectory);
        var maillog = main.Get("maillog_file");
        Log = new MailLog(main.Get("syslog_name"), main.Get("myhostname"), maillog, options.LogToStderr, options.Time);
        // Two flushers: queue files (on the path to the client's 250) never wait behind Maildir flushes.
        _commit = new GroupCommit();
        _deliveryCommit = new GroupCommit(gather: TimeSpan.FromMilliseconds(2));
        Spool = new Spool(config.QueueDirectory, _commit);
        Spool.EnsureDirectories();
        Users = new FileUserStore(main.Get("user_database"), CredentialOptions.FromParameters(main));
        Tables = new TableFactory(config.ConfigDirectory);
        var diags = new ConfigDiagnostics();
        _aliasMaps.Set(main.GetList("alias_maps").Select(spec => Tables.CreateAliasMap(spec, diags, config.MainCfPath)).OfType<ILookupTable>().ToList());
        foreach (var d in diags.Items) Log.Warning("master", d.ToString());
        // The policy's DomainClassifier (same mydestination, same own addresses): what RCPT takes as local is delivered locally.
        Local = new LocalRecipients(main, _aliasMaps, new UserStoreUsers(Users), new DomainClassifier(main, Tables, new ConfigDiagnostics(), LocalAddresses()));
        Maildir = new MaildirWriter(config.MailboxBase, _deliveryCommit, main.Get("myhostname"));
        Dns = DnsResolver.FromParameters(main, options.Time);
        _hostsAccess = CreateHostsAccess(main);
        PopBeforeSmtp = PopBeforeSmtpRegistry.FromParameters(main);
        AuthThrottle = new AuthThrottle(AuthThrottleOptions.Default, options.Time);
        RemoteTransport = options.RemoteTransport is not null ? options.RemoteTransport(this) : CreateSmtpTransport(main, new ConfigDiagnostics(), options.Time);
        Queue = new QueueManager(Spool, Maildir, Local, RemoteTransport, Log, QueueManagerOptions.From(main), options.Time);
        Pickup = new PickupService(Spool, Queue.EnqueueNew, Log, () => PickupOptions.From(Config.Main), options.Time);
    }

    /// <summary>The SMTP client (smtp(8)) with transport_maps, relayhost and the shared resolver.</summary>
    private SmtpRemoteTransport CreateSmtpTransport(Parameters main, ConfigDiagnostics diags, TimeProvider time)
    {
        var transportMaps = main.GetList("transport_maps")
            .Select(spec => Tables.Create(spec, diags, Config.MainCfPath)).OfType<ILookupTable>().ToList();
        foreach (var d in diags.Items) Log.Warning("smtp", d.ToString());
        return new SmtpRemoteTransport(SmtpClientOptions.From(main), Dns, transportMaps, time);
    }

    /// <summary>Validates, opens every listener (failing as a whole if one cannot bind), then starts delivery.</summary>
    public static async Task<ServerHost> StartAsync(LoadedConfig config, ServerHostOptions? options = null)
    {
        options ??= new ServerHostOptions();
        if (config.Diagnostics.HasErrors)
            throw new InvalidOperationException(string.Join(Environment.NewLine, config.Diagnostics.Errors));
        var host = new ServerHost(config, options);
        try
        {
            host.StartListeners(options);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        host.Queue.Start();
        host.Pickup.Start();
        host.Log.Info("master", $"daemon started -- version {typeof(ServerHost).Assembly.GetName().Version?.ToString(3)}, configuration {config.ConfigDirectory ?? "(embedded default)"}");
        return host;
    }

    private X509Certificate2? Certificate(Parameters p, LoadedConfig config)
    {
        var certFile = p.Get("smtpd_tls_cert_file");
        var keyFile = p.Get("smtpd_tls_key_file");
        if (certFile.Length > 0)
            return SelfSignedCertificate.Load(certFile, keyFile.Length > 0 ? keyFile : certFile);
        return _certificate ??= SelfSignedCertificate.LoadOrCreate(config.DataDirectory, config.Main.Get("myhostname"));
    }

    /// <summary>What a listener runs for one service: the session handler and the hosts_access gate, built from one configuration.</summary>
    private sealed record ServiceRuntime(Func<Connection, CancellationToken, Task> Handler, HostsAccessGate Gate);

    private static string ServiceKey(MasterService service) => service.Service + "/" + service.Command;

    private void StartListeners(ServerHostOptions options)
    {
        var runtimes = BuildRuntimes(Config, Tables, null, out var warnings);
        foreach (var w in warnings) Log.Warning("smtpd", w);
        foreach (var service in Config.Services)
        {
            if (!runtimes.TryGetValue(ServiceKey(service), out var runtime)) continue;
            foreach (var ep in EndPointsFor(service, Config.For(service), options))
                _listeners.Add((service, NewListener(service, ep, runtime)));
        }
        foreach (var (_, l) in _listeners) l.Start();
    }

    private Listener NewListener(MasterService service, IPEndPoint ep, ServiceRuntime runtime)
        => new(ep, service.MaxProc, runtime.Handler, msg => Log.Warning("master", msg)) { Admit = runtime.Gate.AdmitAsync };

    /// <summary>
    /// Builds every smtpd and pop3d service of a configuration: options, restriction lists and their tables,
    /// SASL, certificates. errors (when given) collects what makes the configuration unusable (reload).
    /// </summary>
    private Dictionary<string, ServiceRuntime> BuildRuntimes(LoadedConfig config, TableFactory tables, ConfigDiagnostics? errors, out List<string> warnings)
    {
        var result = new Dictionary<string, ServiceRuntime>(StringComparer.Ordinal);
        warnings = new List<string>();
        foreach (var service in config.Services)
        {
            var p = config.For(service);
            Func<Connection, CancellationToken, Task> handler;
            string? refusal;
            string program;
            if (service.IsSmtpd)
            {
                var smtpd = SmtpdOptions.From(p);
                X509Certificate2? cert = null;
                if (smtpd.TlsOffered) cert = Certificate(p, config);
                var diags = new ConfigDiagnostics();
                var policy = SmtpdPolicy.Create(new PolicyOptions
                {
                    Parameters = p, Dns = Dns, Tables = tables, PopBeforeSmtp = PopBeforeSmtp,
                    LocalRecipients = Local, LocalAddresses = LocalAddresses(),
                    TimeProvider = _options.Time,
                }, diags);
                foreach (var d in diags.Items)
                {
                    if (errors is not null && d.Severity == DiagnosticSeverity.Error) errors.Error(d.File, d.Line, d.Message);
                    else warnings.Add(d.ToString());
                }
                var sasl = new SaslMechanisms(Users, SaslOptions.FromParameters(p));
                var authProblems = new List<string>();
                var authentication = Mail.Authentication.MessageAuthentication.Create(
                    Mail.Authentication.AuthenticationOptions.FromParameters(p, authProblems), Dns, authProblems);
                foreach (var problem in authProblems) Log.Warning("smtpd", problem);
                var services = new SmtpServices
                {
                    Options = smtpd, Log = Log, Spool = Spool, Enqueue = Queue.EnqueueNew, Local = Local,
                    NewPolicy = () => new SmtpdPolicySession(policy),
                    // smtpd_peername_lookup = no: every client is "unknown", no DNS at connect (Postfix's meaning).
                    ResolveClient = p.GetBool("smtpd_peername_lookup")
                        ? (ip, ct) => ClientNameResolver.ResolveAsync(ip, Dns, ct)
                        : (_, _) => ValueTask.FromResult(ClientIdentity.UnknownPerm),
                    Certificate = () => cert, Sasl = sasl, AuthThrottle = AuthThrottle, Connections = _counter,
                    Time = _options.Time, Authentication = authentication,
                };
                handler = (conn, ct) => new SmtpSession(conn, services, ct).RunAsync();
                refusal = smtpd.WrapperMode ? null : $"421 4.7.0 {p.Get("myhostname")} Service unavailable - try again later";
                program = "smtpd";
            }
            else if (service.IsPop3d)
            {
                var services = CreatePop3Services(service, p, config);
                handler = (conn, ct) => new Pop3Session(conn, services, ct).RunAsync();
                refusal = services.Options.WrapperMode ? null : "-ERR [SYS/PERM] Access denied";
                program = "pop3d";
            }
            else continue;
            var gate = new HostsAccessGate(_hostsAccess, [service.Command, service.Service], refusal,
                (ip, ct) => ClientNameResolver.ResolveAsync(ip, Dns, ct), Log, p.Get("syslog_name"), program);
            result[ServiceKey(service)] = new ServiceRuntime(handler, gate);
        }
        return result;
    }

    private Pop3Services CreatePop3Services(MasterService service, Parameters p, LoadedConfig config)
    {
        // (LoadedConfig.For already applied the TLS wrapper that the name pop3s implies.)
        var pop3Options = Pop3Options.From(p);
        X509Certificate2? cert = null;
        if (pop3Options.WrapperMode || pop3Options.TlsLevel is "may" or "encrypt") cert = Certificate(p, config);
        return new Pop3Services
        {
            Options = pop3Options, Log = Log, Users = Users, MailboxBase = config.MailboxBase,
            Sasl = new SaslMechanisms(Users, SaslOptions.FromParameters(p)), AuthThrottle = AuthThrottle,
            PopBeforeSmtp = PopBeforeSmtp, Certificate = () => cert, Time = _options.Time,
        };
    }

    private HostsAccess CreateHostsAccess(Parameters main)
        => new(main.Get("hosts_access_directory"), d => Log.Warning("master", d.ToString()), _options.Time);

    private IReadOnlyCollection<IPAddress> LocalAddresses()
    {
        var set = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        try
        {
            foreach (var ni in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
                foreach (var ua in ni.GetIPProperties().UnicastAddresses) set.Add(ua.Address);
        }
        catch (System.Net.NetworkInformation.NetworkInformationException) { }
        return set;
    }

    /// <summary>A service's addresses: its own host, else inet_interfaces ("all", "loopback-only", or a list).</summary>
    private static IEnumerable<IPEndPoint> EndPointsFor(MasterService service, Parameters p, ServerHostOptions options)
    {
        var port = options.EphemeralPorts ? 0 : service.Port;
        if (service.Host is not null)
        {
            foreach (var a in ResolveHost(service.Host)) yield return new IPEndPoint(a, port);
            yield break;
        }
        var interfaces = p.GetList("inet_interfaces");
        if (interfaces.Count == 0 || interfaces.Any(i => i.Equals("all", StringComparison.OrdinalIgnoreCase)))
        {
            yield return new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port);
            yield break;
        }
        foreach (var i in interfaces)
        {
            if (i.Equals("loopback-only", StringComparison.OrdinalIgnoreCase))
            {
                yield return new IPEndPoint(IPAddress.Loopback, port);
                continue;
            }
            foreach (var a in ResolveHost(i)) yield return new IPEndPoint(a, port);
        }
    }

    private static IEnumerable<IPAddress> ResolveHost(string host)
    {
        var h = host.Trim('[', ']');
        if (IPAddress.TryParse(h, out var ip)) return [ip];
        if (h.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return [IPAddress.Loopback];
        return System.Net.Dns.GetHostAddresses(h);
    }

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

    private List<Listener> TakeListeners()
    {
        lock (_listeners)
        {
            var all = _listeners.Select(l => l.Listener).ToList();
            _listeners.Clear();
            return all;
        }
    }

    /// <summary>
    /// Graceful stop (SIGTERM): stop accepting, give open sessions up to grace to finish, then stop the queue
    /// manager (deliveries in flight finish or stay queued; nothing acknowledged is lost) and flush the log.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Log.Info("master", "terminating on signal 15");
        await Task.WhenAll(TakeListeners().Select(l => l.StopAsync(grace))).ConfigureAwait(false);
        await ShutdownAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var l in TakeListeners()) await l.DisposeAsync().ConfigureAwait(false);
        await ShutdownAsync().ConfigureAwait(false);
    }

    /// <summary>After the listeners: services being retired, the queue, the transport, the flusher, the log.</summary>
    private async Task ShutdownAsync()
    {
        Task[] retiring;
        lock (_retiring) retiring = _retiring.ToArray();
        await Task.WhenAll(retiring).ConfigureAwait(false);
        await Pickup.DisposeAsync().ConfigureAwait(false);
        await Queue.DisposeAsync().ConfigureAwait(false);
        if (RemoteTransport is IAsyncDisposable transport) await transport.DisposeAsync().ConfigureAwait(false);
        await _commit.DisposeAsync().ConfigureAwait(false);
        await _deliveryCommit.DisposeAsync().ConfigureAwait(false);
        await Log.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The alias_maps as LocalRecipients sees them: one list whose contents a reload replaces at once.</summary>
    private sealed class SwappableTableList : IReadOnlyList<ILookupTable>
    {
        private volatile IReadOnlyList<ILookupTable> _tables = [];
        public void Set(IReadOnlyList<ILookupTable> tables) => _tables = tables;
        public ILookupTable this[int index] => _tables[index];
        public int Count => _tables.Count;
        public IEnumerator<ILookupTable> GetEnumerator() => _tables.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

}
