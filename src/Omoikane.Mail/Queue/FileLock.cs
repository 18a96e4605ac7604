using System.Runtime.InteropServices;

namespace Omoikane.Mail.Queue;

/// <summary>
/// Lock files held with an exclusive flock(2) taken explicitly, so that they do not depend on .NET's
/// FileShare emulation: omoikane turns that emulation off (System.IO.DisableFileLocking in its
/// runtimeconfig) because it costs two flock calls on every file the queue, the Maildir writer and
/// POP3 open. On Windows FileShare.None is the lock.
/// </summary>
public static class FileLock
{
    /// <summary>
    /// Opens (or creates, with <paramref name="options"/>' mode) <paramref name="path"/> and locks it
    /// exclusively without waiting. Returns null when another open file holds the lock.
    /// </summary>
    public static FileStream? TryOpenExclusive(string path, FileStreamOptions options)
    {
        options.Share = FileShare.None;
        FileStream stream;
        try { stream = new FileStream(path, options); }
        catch (IOException ex) when (IsWouldBlock(ex)) { return null; }
        if (OperatingSystem.IsWindows()) return stream;
        const int LOCK_EX = 2, LOCK_NB = 4;
        if (flock((int)stream.SafeFileHandle.DangerousGetHandle(), LOCK_EX | LOCK_NB) == 0) return stream;
        int errno = Marshal.GetLastPInvokeError();
        stream.Dispose();
        if (errno is 11 or 35) return null;   // EWOULDBLOCK (Linux; macOS and the BSDs)
        throw new IOException($"{path}: cannot lock: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    // A lock held elsewhere: ERROR_SHARING_VIOLATION (32) or ERROR_LOCK_VIOLATION (33) on Windows; on Unix
    // .NET's own flock (when its emulation is on) reports EWOULDBLOCK as the errno.
    private static bool IsWouldBlock(IOException ex)
        => OperatingSystem.IsWindows() ? (ex.HResult & 0xFFFF) is 32 or 33 : ex.HResult is 11 or 35;

    [DllImport("libc", SetLastError = true)]
    private static extern int flock(int fd, int operation);
}
