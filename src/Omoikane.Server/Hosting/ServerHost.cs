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
    /// <summary>Replaces the failed-login throttle's delays and limits (tests: short delays).</summary>
    public AuthThrottleOptions? AuthThrottle { get; init; }
}

/// <summary>
/// The whole server in one process: the queue manager and local delivery, and one listener per master.cf
/// service (smtpd, pop3d), all sharing the user store, the DNS resolver, the policy tables and the log.
/// </summary>
public sealed partial class ServerHost : IAsyncDisposable
{
    private readonly List<(MasterService Service, Listener Listener)> _listeners = new();
    private readonly GroupCommit _commit;
    private readonly GroupCommit _deliveryCommit;
    private readonly ServerHostOptions _options;
    /// <summary>smtpd_client_ipv6_prefix_length at start: how the per-client tables group IPv6 clients.</summary>
    private readonly int _ipv6PrefixLength;
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
    /// <summary>SCRAM salts for unknown users, from a secret kept in data_directory.</summary>
    public ScramFakeSalt ScramFakeSalt { get; }
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
        EnsureWritableLog(maillog);
        Log = new MailLog(main.Get("syslog_name"), main.Get("myhostname"), maillog, options.LogToStderr, options.Time);
        // Two flushers: queue files (on the path to the client's 250) never wait behind Maildir flushes.
        _commit = new GroupCommit();
        _deliveryCommit = new GroupCommit(gather: TimeSpan.FromMilliseconds(2));
        Spool = new Spool(config.QueueDirectory, _commit);
        Spool.EnsureDirectories();
        Users = new FileUserStore(main.Get("user_database"), CredentialOptions.FromParameters(main));
        ScramFakeSalt = ScramFakeSalt.LoadOrCreate(config.DataDirectory, CredentialOptions.FromParameters(main));
        Tables = new TableFactory(config.ConfigDirectory);
        var diags = new ConfigDiagnostics();
        _aliasMaps.Set(main.GetList("alias_maps").Select(spec => Tables.CreateAliasMap(spec, diags, config.MainCfPath)).OfType<ILookupTable>().ToList());
        foreach (var d in diags.Items)
            if (d.Severity == DiagnosticSeverity.Error) _startErrors.Error(d.File, d.Line, d.Message);
            else Log.Warning("master", d.ToString());
        // The policy's DomainClassifier (same mydestination, same own addresses): what RCPT takes as local is delivered locally.
        Local = new LocalRecipients(main, _aliasMaps, new UserStoreUsers(Users), new DomainClassifier(main, Tables, new ConfigDiagnostics(), LocalAddresses()));
        Maildir = new MaildirWriter(config.MailboxBase, _deliveryCommit, main.Get("myhostname"));
        Dns = DnsResolver.FromParameters(main, options.Time);
        _hostsAccess = CreateHostsAccess(main);
        PopBeforeSmtp = PopBeforeSmtpRegistry.FromParameters(main);
        var ipv6Prefix = main.GetInt("smtpd_client_ipv6_prefix_length");
        _ipv6PrefixLength = ipv6Prefix;
        AuthThrottle = new AuthThrottle((options.AuthThrottle ?? AuthThrottleOptions.Default) with { Ipv6PrefixLength = ipv6Prefix }, options.Time);
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
    private sealed record ServiceRuntime(Func<Connection, CancellationToken, Task> Handler, HostsAccessGate Gate, ConnectionLimit Limit);

    private static string ServiceKey(MasterService service) => service.Service + "/" + service.Command;

    private void StartListeners(ServerHostOptions options)
    {
        Dictionary<string, ServiceRuntime> runtimes;
        List<string> warnings;
        try { runtimes = BuildRuntimes(Config, Tables, _startErrors, out warnings); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"cannot load the TLS certificate or key: {ex.Message}", ex);
        }
        foreach (var w in warnings) Log.Warning("smtpd", w);
        // Fail closed: a table, alias map or key that cannot be read stops the start (as it stops a reload).
        if (_startErrors.HasErrors)
        {
            foreach (var e in _startErrors.Errors) Log.Error("master", $"cannot start: {e}");
            throw new InvalidOperationException(string.Join(Environment.NewLine, _startErrors.Errors));
        }
        foreach (var service in Config.Services)
        {
            if (!runtimes.TryGetValue(ServiceKey(service), out var runtime)) continue;
            foreach (var ep in EndPointsFor(service, Config.For(service), options))
                _listeners.Add((service, NewListener(service, ep, runtime)));
        }
        foreach (var (_, l) in _listeners) l.Start();
    }

    private Listener NewListener(MasterService service, IPEndPoint ep, ServiceRuntime runtime)
        => new(ep, service.MaxProc, runtime.Handler, msg => Log.Warning("master", msg), service.Service)
        { Admit = runtime.Gate.AdmitAsync, Limit = runtime.Limit };

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
                var sasl = new SaslMechanisms(LoginRealmUserStore.Wrap(Users, p.Get("smtpd_sasl_local_domain")), SaslOptions.FromParameters(p), ScramFakeSalt);
                var authProblems = new List<string>();
                var authentication = Mail.Authentication.MessageAuthentication.Create(
                    Mail.Authentication.AuthenticationOptions.FromParameters(p, authProblems), Dns, authProblems);
                var dkimSource = p.Source("dkim_signing_domains");
                foreach (var problem in authProblems)
                {
                    // A signing key that cannot be loaded is an error: sending unsigned mail would fail DMARC at receivers.
                    if (errors is not null) errors.Error(dkimSource?.File ?? config.MainCfPath, dkimSource?.Line ?? 0, problem);
                    else Log.Warning("smtpd", problem);
                }
                var services = new SmtpServices
                {
                    Options = smtpd, Log = Log, Spool = Spool, Enqueue = Queue.EnqueueNew, Local = Local,
                    NewPolicy = () => new SmtpdPolicySession(policy),
                    // smtpd_peername_lookup = no: every client is "unknown", no DNS at connect (Postfix's meaning).
                    ResolveClient = p.GetBool("smtpd_peername_lookup")
                        ? (ip, ct) => ClientNameResolver.ResolveAsync(ip, Dns, ct)
                        : (_, _) => ValueTask.FromResult(ClientIdentity.UnknownPerm),
                    Certificate = () => cert, Sasl = sasl, AuthThrottle = AuthThrottle,
                    Time = _options.Time, Authentication = authentication, StressOptions = SmtpdOptions.From(p.UnderStress()),
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
            result[ServiceKey(service)] = new ServiceRuntime(handler, gate, CreateConnectionLimit(service, p, tables, errors, warnings));
        }
        return result;
    }

    private Pop3Services CreatePop3Services(MasterService service, Parameters p, LoadedConfig config)
    {
        // (LoadedConfig.For already applied the TLS wrapper that the name pop3s implies.)
        var pop3Options = Pop3Options.From(p);
        X509Certificate2? cert = null;
        if (pop3Options.WrapperMode || pop3Options.TlsLevel is "may" or "encrypt") cert = Certificate(p, config);
        // smtpd_sasl_local_domain applies to POP3 logins too: one realm for every way a user logs in.
        var users = LoginRealmUserStore.Wrap(Users, p.Get("smtpd_sasl_local_domain"));
        return new Pop3Services
        {
            Options = pop3Options, Log = Log, Users = users, MailboxBase = config.MailboxBase,
            Sasl = new SaslMechanisms(users, SaslOptions.FromParameters(p), ScramFakeSalt), AuthThrottle = AuthThrottle,
            PopBeforeSmtp = PopBeforeSmtp, Certificate = () => cert, Time = _options.Time,
            StressOptions = Pop3Options.From(p.UnderStress()),
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
