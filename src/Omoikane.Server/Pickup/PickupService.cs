using System.Globalization;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Pickup;
using Omoikane.Mail.Queue;

namespace Omoikane.Server.Pickup;

/// <summary>What pickup needs from main.cf.</summary>
public sealed record PickupOptions(string MyHostname, string MyOrigin, string MailName, long MessageSizeLimit)
{
    public static PickupOptions From(Mail.Config.Parameters p) => new(p.Get("myhostname"), p.Get("myorigin"), p.Get("mail_name"),
        long.TryParse(p.Get("message_size_limit"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : 10240000);
}

/// <summary>
/// Postfix's pickup(8): takes the messages local users left in $queue_directory/maildrop (omoikane sendmail),
/// at start and then within a second of their arrival, and queues them like mail received over SMTP.
/// The submitter is the file's owner as the kernel recorded it; the file says nothing about who wrote it.
/// A file that is not a well-formed maildrop file of one owner is moved to corrupt/ and logged.
/// </summary>
public sealed partial class PickupService : IAsyncDisposable
{
    private readonly Spool _spool;
    private readonly Action<QueueMessageFile> _enqueue;
    private readonly MailLog _log;
    private readonly Func<PickupOptions> _currentOptions;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private FileSystemWatcher? _watcher;
    private Task _loop = Task.CompletedTask;
    private LogSession? _session;

    /// <summary>How often the directory is read when no change was signalled.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(1);
    /// <summary>Unfinished files (a sendmail that died while writing) are removed after this long.</summary>
    public static TimeSpan AbandonedAfter { get; } = TimeSpan.FromDays(1);

    /// <param name="options">The options in force (read for each message: a reload changes them).</param>
    public PickupService(Spool spool, Action<QueueMessageFile> enqueue, MailLog log, Func<PickupOptions> options, TimeProvider time)
    {
        _spool = spool; _enqueue = enqueue; _log = log; _currentOptions = options; _time = time;
        Directory = Path.Combine(spool.Root, MaildropFile.DirectoryName);
    }

    public string Directory { get; }

    /// <summary>
    /// Creates the maildrop directory (1733: anyone may drop a file, nobody else can list or remove it) and lets
    /// local users reach it: queue_directory gets search permission for others, its other directories stay 0700.
    /// </summary>
    public static void EnsureDirectory(string queueDirectory)
    {
        var dir = Path.Combine(queueDirectory, MaildropFile.DirectoryName);
        System.IO.Directory.CreateDirectory(dir);
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(dir, MaildropFile.DirectoryMode);
        var root = File.GetUnixFileMode(queueDirectory);
        const UnixFileMode search = UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((root & search) != search) File.SetUnixFileMode(queueDirectory, root | search);
    }

    public void Start()
    {
        EnsureDirectory(_spool.Root);
        _session = _log.BeginSession();
        try
        {
            _watcher = new FileSystemWatcher(Directory) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.FileName };
            _watcher.Created += (_, _) => Wake();
            _watcher.Renamed += (_, _) => Wake();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or PlatformNotSupportedException or ArgumentException)
        {
            _watcher = null; // the poll still finds every file
        }
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    private void Wake()
    {
        try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { await ScanAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception ex) { _session!.Warning("pickup", $"maildrop scan failed: {ex.Message}"); }
            try { await _wake.WaitAsync(PollInterval, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Takes every complete file now in the maildrop; returns how many were queued.</summary>
    public async Task<int> ScanAsync(CancellationToken ct)
    {
        int queued = 0;
        string[] names;
        try { names = System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).OfType<string>().ToArray(); }
        catch (DirectoryNotFoundException) { EnsureDirectory(_spool.Root); return 0; }
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            if (name.StartsWith('.')) { RemoveIfAbandoned(name); continue; }
            try
            {
                if (await PickUpAsync(name, ct).ConfigureAwait(false)) queued++;
            }
            catch (IOException ex)
            {
                // The queue cannot take it now (disk full...): the file stays and is tried again.
                _session!.Warning("pickup", $"maildrop/{name}: cannot queue the message now: {ex.Message}");
            }
        }
        return queued;
    }

    private void RemoveIfAbandoned(string name)
    {
        var path = Path.Combine(Directory, name);
        try
        {
            if (File.GetLastWriteTimeUtc(path) < _time.GetUtcNow().UtcDateTime - AbandonedAfter) File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _watcher?.Dispose();
        await _loop.ConfigureAwait(false);
        _session?.Dispose();
        _stop.Dispose();
    }
}
