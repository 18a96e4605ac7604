using System.Runtime.InteropServices;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// fsync(2) of a directory, so that a rename into it survives a crash. .NET cannot open a directory
/// as a stream, so this calls libc. Best effort: a failure is ignored (the rename itself was durable
/// enough on most file systems), and Windows has no such step.
/// </summary>
internal static partial class DirectorySync
{
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            int fd = Open(directory, 0 /* O_RDONLY */);
            if (fd < 0) return;
            try { _ = Fsync(fd); } finally { _ = Close(fd); }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
