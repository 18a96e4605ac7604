using System.Runtime.InteropServices;

namespace Omoikane.Mail.Queue;

/// <summary>
/// rename(2) for the queue's and the Maildir's hot paths, where every name is fresh and unique: File.Move
/// checks both names with lstat first (several system calls per rename, several renames per message).
/// </summary>
public static class FileRename
{
    public static void Rename(string from, string to)
    {
        if (OperatingSystem.IsWindows()) { File.Move(from, to); return; }
        if (rename(from, to) == 0) return;
        var errno = Marshal.GetLastPInvokeError();
        const int ENOENT = 2;
        if (errno == ENOENT) throw new FileNotFoundException($"cannot rename {from} to {to}: no such file or directory", from);
        throw new IOException($"cannot rename {from} to {to}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
}
