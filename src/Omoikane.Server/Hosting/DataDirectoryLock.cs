using System.Runtime.InteropServices;

namespace Omoikane.Server.Hosting;

/// <summary>
/// One server per data directory: $data_directory/omoikane.lock, opened for the life of the process with an
/// exclusive lock (flock(2) on Linux). A second server on the same directory fails to take it and refuses to
/// start. The kernel drops the lock when the process ends however it ends (kill -9 included), so a stale
/// lock file or pid file never blocks a start.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static string PathFor(string dataDirectory) => Path.Combine(dataDirectory, "omoikane.lock");

    /// <summary>Takes the lock, or throws <see cref="IOException"/> with a one-line reason naming the directory.</summary>
    public static DataDirectoryLock Acquire(string dataDirectory, string? pidFile = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = PathFor(dataDirectory);
        // FileShare.ReadWrite: .NET's own advisory sharing lock stays out of the way; flock below is the lock.
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.None);
        if (OperatingSystem.IsWindows()) return new DataDirectoryLock(file);
        if (Flock((int)file.SafeFileHandle.DangerousGetHandle(), LockExclusive | LockNonBlocking) == 0)
            return new DataDirectoryLock(file);
        var errno = Marshal.GetLastPInvokeError();
        file.Dispose();
        if (errno != EWouldBlock)
            throw new IOException($"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        var who = pidFile is not null && TryReadPid(pidFile) is { } pid ? $" (process {pid})" : "";
        throw new IOException($"data_directory {dataDirectory} is in use by another running server{who}: {path} is locked; stop that server or give this one its own data_directory");
    }

    private const int LockExclusive = 2, LockNonBlocking = 4, EWouldBlock = 11;

    [DllImport("libc", SetLastError = true, EntryPoint = "flock")]
    private static extern int Flock(int fd, int operation);

    private static int? TryReadPid(string path)
    {
        try { return int.TryParse(File.ReadAllText(path).Trim(), out var pid) && pid > 0 ? pid : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose() => _file.Dispose();
}
