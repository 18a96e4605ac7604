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
            var options = new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0,
            };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            // FileShare.None takes an exclusive advisory lock (flock) on Unix, a sharing lock on Windows.
            var stream = new FileStream(Path.Combine(key, LockFileName), options);
            held = new MaildropLock(this, key, stream);
            return MaildropStatus.Ok;
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            Release(key);
            return MaildropStatus.InUse;
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

    // A lock held elsewhere: ERROR_SHARING_VIOLATION (32) or ERROR_LOCK_VIOLATION (33) on Windows;
    // on Unix .NET reports flock's EWOULDBLOCK as the errno (11 on Linux, 35 on macOS and the BSDs).
    private static bool IsSharingViolation(IOException ex)
        => OperatingSystem.IsWindows() ? (ex.HResult & 0xFFFF) is 32 or 33 : ex.HResult is 11 or 35;
}
