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
    private X509Certificate2? _certificate;

    public LoadedConfig Config { get; }
    public MailLog Log { get; }
    public Spool Spool { get; }
    public QueueManager Queue { get; }
    public IUserStore Users { get; }
    public LocalRecipients Local { get; }
    public IDnsResolver Dns { get; }
    public PopBeforeSmtpRegistry PopBeforeSmtp { get; }
    public AuthThrottle AuthThrottle { get; }
    public MaildirWriter Maildir { get; }
    public TableFactory Tables { get; }
    /// <summary>Delivery to other hosts: the SMTP client unless <see cref="ServerHostOptions.RemoteTransport"/> replaces it.</summary>
    public IRemoteTransport RemoteTransport { get; }
    public IReadOnlyList<(MasterService Service, IPEndPoint EndPoint)> Endpoints => _listeners.Select(l => (l.Service, l.Listener.EndPoint)).ToList();

    private ServerHost(LoadedConfig config, ServerHostOptions options)
    {
        Config = config;
        var main = config.Main;
        Directory.CreateDirectory(config.DataDirectory);
        var maillog = main.Get("maillog_file");
        Log = new MailLog(main.Get("syslog_name"), main.Get("myhostname"), maillog, options.LogToStderr, options.Time);
        _commit = new GroupCommit();
        Spool = new Spool(config.QueueDirectory, _commit);
        Spool.EnsureDirectories();
        Users = new FileUserStore(main.Get("user_database"), CredentialOptions.FromParameters(main));
        Tables = new TableFactory(config.ConfigDirectory);
        var diags = new ConfigDiagnostics();
        var aliases = main.GetList("alias_maps").Select(spec => Tables.CreateAliasMap(spec, diags, config.MainCfPath)).OfType<ILookupTable>().ToList();
        foreach (var d in diags.Items) Log.Warning("master", d.ToString());
        Local = new LocalRecipients(main, aliases, new UserStoreUsers(Users));
        Maildir = new MaildirWriter(config.MailboxBase, _commit, main.Get("myhostname"));
        Dns = DnsResolver.FromParameters(main, options.Time);
        PopBeforeSmtp = PopBeforeSmtpRegistry.FromParameters(main);
        AuthThrottle = new AuthThrottle(AuthThrottleOptions.Default, options.Time);
        RemoteTransport = options.RemoteTransport is not null ? options.RemoteTransport(this) : CreateSmtpTransport(main, new ConfigDiagnostics(), options.Time);
        Queue = new QueueManager(Spool, Maildir, Local, RemoteTransport, Log, QueueManagerOptions.From(main), options.Time);
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
        host.Log.Info("master", $"daemon started -- version {typeof(ServerHost).Assembly.GetName().Version?.ToString(3)}, configuration {config.ConfigDirectory ?? "(embedded default)"}");
        return host;
    }

    private X509Certificate2? Certificate(Parameters p)
    {
        var certFile = p.Get("smtpd_tls_cert_file");
        var keyFile = p.Get("smtpd_tls_key_file");
        if (certFile.Length > 0)
            return SelfSignedCertificate.Load(certFile, keyFile.Length > 0 ? keyFile : certFile);
        return _certificate ??= SelfSignedCertificate.LoadOrCreate(Config.DataDirectory, Config.Main.Get("myhostname"));
    }

    private void StartListeners(ServerHostOptions options)
    {
        var counter = new ClientConnectionCounter();
        foreach (var service in Config.Services)
        {
            var p = Config.For(service);
            if (service.IsSmtpd)
            {
                var smtpd = SmtpdOptions.From(p);
                X509Certificate2? cert = null;
                if (smtpd.TlsOffered) cert = Certificate(p);
                var diags = new ConfigDiagnostics();
                var policy = SmtpdPolicy.Create(new PolicyOptions
                {
                    Parameters = p, Dns = Dns, Tables = Tables, PopBeforeSmtp = PopBeforeSmtp,
                    LocalRecipients = new LocalRecipientsAdapter(Local), LocalAddresses = LocalAddresses(),
                    TimeProvider = options.Time,
                }, diags);
                foreach (var d in diags.Items) Log.Warning("smtpd", d.ToString());
                var sasl = new SaslMechanisms(Users, SaslOptions.FromParameters(p));
                var authProblems = new List<string>();
                var authentication = Mail.Authentication.MessageAuthentication.Create(
                    Mail.Authentication.AuthenticationOptions.FromParameters(p, authProblems), Dns, authProblems);
                foreach (var problem in authProblems) Log.Warning("smtpd", problem);
                var services = new SmtpServices
                {
                    Options = smtpd, Log = Log, Spool = Spool, Enqueue = Queue.EnqueueNew, Local = Local,
                    NewPolicy = () => new SmtpdPolicySession(policy),
                    ResolveClient = (ip, ct) => ClientNameResolver.ResolveAsync(ip, Dns, ct),
                    Certificate = () => cert, Sasl = sasl, AuthThrottle = AuthThrottle, Connections = counter,
                    Time = options.Time, Authentication = authentication,
                };
                foreach (var ep in EndPointsFor(service, p, options))
                {
                    var listener = new Listener(ep, service.MaxProc,
                        (conn, ct) => new SmtpSession(conn, services, ct).RunAsync(), msg => Log.Warning("master", msg));
                    _listeners.Add((service, listener));
                }
            }
            else if (service.IsPop3d)
            {
                foreach (var ep in EndPointsFor(service, p, options))
                {
                    var listener = CreatePop3Listener(service, p, ep, options);
                    if (listener is not null) _listeners.Add((service, listener));
                }
            }
        }
        foreach (var (_, l) in _listeners) l.Start();
    }

    private Listener? CreatePop3Listener(MasterService service, Parameters p, IPEndPoint ep, ServerHostOptions options)
    {
        // The well-known pop3s service implies the TLS wrapper (as submissions does for smtpd).
        if (service.Service.Equals("pop3s", StringComparison.OrdinalIgnoreCase) && !p.IsExplicit("pop3d_tls_wrappermode"))
            p = p.With("pop3d_tls_wrappermode", "yes");
        var pop3Options = Pop3Options.From(p);
        X509Certificate2? cert = null;
        if (pop3Options.WrapperMode || pop3Options.TlsLevel is "may" or "encrypt") cert = Certificate(p);
        var services = new Pop3Services
        {
            Options = pop3Options, Log = Log, Users = Users, MailboxBase = Config.MailboxBase,
            Sasl = new SaslMechanisms(Users, SaslOptions.FromParameters(p)), AuthThrottle = AuthThrottle,
            PopBeforeSmtp = PopBeforeSmtp, Certificate = () => cert, Time = options.Time,
        };
        return new Listener(ep, service.MaxProc, (conn, ct) => new Pop3Session(conn, services, ct).RunAsync(), msg => Log.Warning("master", msg));
    }

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

    public async Task StopAsync(TimeSpan grace)
    {
        await Task.WhenAll(_listeners.Select(l => l.Listener.StopAsync(grace))).ConfigureAwait(false);
        await Queue.DisposeAsync().ConfigureAwait(false);
        if (RemoteTransport is IAsyncDisposable transport) await transport.DisposeAsync().ConfigureAwait(false);
        Log.Info("master", "terminating on signal 15");
        await _commit.DisposeAsync().ConfigureAwait(false);
        await Log.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, l) in _listeners) await l.DisposeAsync().ConfigureAwait(false);
        await Queue.DisposeAsync().ConfigureAwait(false);
        if (RemoteTransport is IAsyncDisposable transport) await transport.DisposeAsync().ConfigureAwait(false);
        await _commit.DisposeAsync().ConfigureAwait(false);
        await Log.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class UserStoreUsers(IUserStore store) : ILocalUsers
    {
        public bool Exists(string address) => store.Find(address) is not null;
    }

    private sealed class LocalRecipientsAdapter(LocalRecipients local) : ILocalRecipients
    {
        public ValueTask<LookupStatus> ExistsAsync(Mail.Addressing.MailAddress recipient, CancellationToken cancellationToken = default)
            => local.ExistsAsync(recipient, cancellationToken);
    }
}
