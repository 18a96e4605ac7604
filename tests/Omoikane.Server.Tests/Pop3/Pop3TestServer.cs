using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Policy;
using Omoikane.Server.Hosting;
using Omoikane.Server.Pop3;
using Omoikane.Server.Sasl;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Tests.Pop3;

/// <summary>
/// A POP3 service on 127.0.0.1 (an ephemeral port) over a temporary mailbox base, with two users:
/// alice@localhost / "wonder land" (a space on purpose) and bob@localhost / "builder".
/// </summary>
internal sealed class Pop3TestServer : IAsyncDisposable
{
    public const string Alice = "alice@localhost";
    public const string AlicePassword = "wonder land";
    public const string Bob = "bob@localhost";
    public const string BobPassword = "builder";

    private static readonly Lazy<X509Certificate2> SharedCertificate = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "omoikane-pop3-cert-" + Environment.ProcessId);
        return SelfSignedCertificate.LoadOrCreate(dir, "localhost");
    });

    private readonly List<string> _errors = new();
    private Listener _listener;
    private int _sequence;

    public Pop3TestServer(Func<Pop3Options, Pop3Options>? configure = null, string? root = null, MaildropLocks? locks = null)
    {
        Root = root ?? Directory.CreateTempSubdirectory("omoikane-pop3-").FullName;
        MailboxBase = Path.Combine(Root, "mail");
        Directory.CreateDirectory(MailboxBase);
        LogPath = Path.Combine(Root, "maillog");
        Users = new MemoryUserStore(new CredentialOptions { ScramIterations = 4096 });
        Users.Add(Alice, AlicePassword);
        Users.Add(Bob, BobPassword);
        Log = new MailLog("postfix-omoikane", "localhost", LogPath, toStderr: false);
        Throttle = new AuthThrottle(new AuthThrottleOptions { BaseDelay = TimeSpan.Zero }, TimeProvider.System);
        PopBeforeSmtp = new PopBeforeSmtpRegistry(TimeSpan.FromMinutes(10));
        var options = new Pop3Options
        {
            MyHostname = "localhost",
            Banner = "localhost POP3 server ready",
            SyslogName = "postfix-omoikane",
            TlsLevel = "may",
            Timeout = TimeSpan.FromSeconds(30),
        };
        Options = configure is null ? options : configure(options);
        Services = new Pop3Services
        {
            Options = Options,
            Log = Log,
            Users = Users,
            MailboxBase = MailboxBase,
            Sasl = new SaslMechanisms(Users, SaslOptions.Default),
            AuthThrottle = Throttle,
            PopBeforeSmtp = PopBeforeSmtp,
            Certificate = () => SharedCertificate.Value,
            Locks = locks ?? new MaildropLocks(),
        };
        _listener = StartListener();
    }

    public string Root { get; }
    public string MailboxBase { get; }
    public string LogPath { get; }
    public MemoryUserStore Users { get; }
    public MailLog Log { get; }
    public AuthThrottle Throttle { get; }
    public PopBeforeSmtpRegistry PopBeforeSmtp { get; }
    public Pop3Options Options { get; }
    public Pop3Services Services { get; }
    public int Port => _listener.EndPoint.Port;
    public IReadOnlyList<string> Errors { get { lock (_errors) return _errors.ToArray(); } }

    private Listener StartListener()
    {
        var listener = new Listener(new IPEndPoint(IPAddress.Loopback, 0), 0,
            (conn, ct) => new Pop3Session(conn, Services, ct).RunAsync(),
            e => { lock (_errors) _errors.Add(e); });
        listener.Start();
        return listener;
    }

    /// <summary>Stops the listener and starts another on a new port over the same mailboxes (a server restart).</summary>
    public async Task RestartAsync()
    {
        await _listener.StopAsync(TimeSpan.FromSeconds(5));
        await _listener.DisposeAsync();
        _listener = StartListener();
    }

    public string Maildir(string address) => Maildrop.MailboxPath(MailboxBase, address);

    /// <summary>Delivers a message (LF line endings) into new/ under a name as MaildirWriter makes it.</summary>
    public string Deliver(string address, string content, long? secs = null)
    {
        var dir = Maildir(address);
        foreach (var sub in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(dir, sub));
        var bytes = Encoding.UTF8.GetBytes(content);
        long lines = bytes.Count(b => b == (byte)'\n');
        var seq = Interlocked.Increment(ref _sequence);
        var unique = $"{secs ?? 1700000000 + seq}.M{seq}P{Environment.ProcessId}Q{seq}.testhost";
        File.WriteAllBytes(Path.Combine(dir, "new", $"{unique},S={bytes.Length},W={bytes.Length + lines}"), bytes);
        return unique;
    }

    /// <summary>The file names now in a Maildir folder ("new" or "cur").</summary>
    public string[] Files(string address, string folder)
    {
        var dir = Path.Combine(Maildir(address), folder);
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Where(n => !n.StartsWith('.')).Order().ToArray() : [];
    }

    /// <summary>Waits (at most 5 s) until the maillog has a line containing <paramref name="text"/>; returns it or null.</summary>
    public async Task<string?> WaitForLogAsync(string text)
    {
        var until = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < until)
        {
            if (File.Exists(LogPath))
            {
                string content;
                using (var fs = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                using (var reader = new StreamReader(fs)) content = await reader.ReadToEndAsync();
                var line = content.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                if (line is not null) return line;
            }
            await Task.Delay(50);
        }
        return null;
    }

    /// <summary>Waits (at most 5 s) until no maildrop is locked, i.e. every session has ended.</summary>
    public async Task WaitForUnlockedAsync()
    {
        var until = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < until && Services.Locks.Count > 0) await Task.Delay(20);
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.StopAsync(TimeSpan.FromSeconds(2));
        await _listener.DisposeAsync();
        await Log.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
