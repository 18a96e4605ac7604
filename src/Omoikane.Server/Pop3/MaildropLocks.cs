using Omoikane.Mail.Queue;

namespace Omoikane.Server.Pop3;

/// <summary>
/// One POP3 session per maildrop (RFC 1939 §8: the server should lock the maildrop; CONTRACT.md: the
/// second session gets -ERR [IN-USE]). Two layers: a set of maildrops locked in this process, and an
/// exclusive lock on a file in the Maildir (<see cref="LockFileName"/>), which also keeps out a session
/// of another process. The lock file stays in place; only the lock on it comes and goes.
/// </summary>
public sealed class MaildropLocks
{
    public const string LockFileName = ".omoikane-pop3.lock";

    private readonly HashSet<string> _held = new(StringComparer.Ordinal);

    /// <summary>The process-wide registry.</summary>
    public static MaildropLocks Shared { get; } = new();

    /// <summary>Maildrops locked now (for tests and statistics).</summary>
    public int Count { get { lock (_held) return _held.Count; } }

    /// <summary>
    /// Locks the Maildir at <paramref name="maildir"/> (which must exist): Ok with the lock, InUse when a
    /// session holds it, Failed when the lock file cannot be opened.
    /// </summary>
    public MaildropStatus TryAcquire(string maildir, out MaildropLock? held, out string? error)
    {
        held = null;
        error = null;
        var key = Path.GetFullPath(maildir);
        lock (_held)
            if (!_held.Add(key)) return MaildropStatus.InUse;
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, BufferSize = 0 };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            // An exclusive flock(2) on the lock file: a session in another process gets [IN-USE] too.
            var stream = FileLock.TryOpenExclusive(Path.Combine(key, LockFileName), options);
            if (stream is null)
            {
                Release(key);
                return MaildropStatus.InUse;
            }
            held = new MaildropLock(this, key, stream);
            return MaildropStatus.Ok;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Release(key);
            error = ex.Message;
            return MaildropStatus.Failed;
        }
    }

    internal void Release(string key)
    {
        lock (_held) _held.Remove(key);
    }
}
