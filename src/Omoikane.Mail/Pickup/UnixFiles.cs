using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Omoikane.Mail.Pickup;

/// <summary>What the kernel records about a file: its owner, type and identity (statx(2)).</summary>
public readonly record struct UnixFileInfo(uint Uid, uint Mode, uint Links, ulong Inode, ulong Size, uint DevMajor, uint DevMinor)
{
    public bool IsRegular => (Mode & 0xF000) == 0x8000;
    public bool IsDirectory => (Mode & 0xF000) == 0x4000;
    public bool SameFile(UnixFileInfo other) => Inode == other.Inode && DevMajor == other.DevMajor && DevMinor == other.DevMinor;
}

/// <summary>
/// The few POSIX calls local submission needs: who the caller is, who owns a file (never what the file says),
/// and opening a file without following a link or blocking on a FIFO.
/// </summary>
public static partial class UnixFiles
{
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC_STATS = 0x7ff;
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    // O_NOFOLLOW differs between architectures (asm-generic vs. arm).
    private static int O_NOFOLLOW => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>The real user id of this process.</summary>
    public static uint UserId => getuid();

    /// <summary>lstat: the entry itself (a link is reported as a link), or null when it does not exist or cannot be examined.</summary>
    public static UnixFileInfo? LStat(string path)
    {
        var buf = new byte[256];
        return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf) == 0 ? Parse(buf) : null;
    }

    /// <summary>fstat of an open file.</summary>
    public static UnixFileInfo? FStat(SafeFileHandle handle)
    {
        var buf = new byte[256];
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return statx((int)handle.DangerousGetHandle(), "", AT_EMPTY_PATH, STATX_BASIC_STATS, buf) == 0 ? Parse(buf) : null;
        }
        finally { if (added) handle.DangerousRelease(); }
    }

    /// <summary>Opens for reading, refusing a symbolic link and never waiting on a FIFO or device; null on failure (errno in error).</summary>
    public static SafeFileHandle? OpenNoFollow(string path, out int error)
    {
        var fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        error = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The passwd entry of a user id (getpwuid(3)): login name and the full name (first GECOS field), or null.</summary>
    public static (string Name, string FullName)? PasswdEntry(uint uid)
    {
        lock (PasswdGate)
        {
            var p = getpwuid(uid);
            if (p == IntPtr.Zero) return null;
            var name = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(p, 0)) ?? "";
            // struct passwd: pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, ...
            var gecos = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(p, 2 * IntPtr.Size + 8)) ?? "";
            var comma = gecos.IndexOf(',');
            return (name, comma >= 0 ? gecos[..comma] : gecos);
        }
    }

    private static readonly object PasswdGate = new();

    private static UnixFileInfo Parse(byte[] b) => new(
        Uid: BitConverter.ToUInt32(b, 20), Mode: BitConverter.ToUInt16(b, 28), Links: BitConverter.ToUInt32(b, 16),
        Inode: BitConverter.ToUInt64(b, 32), Size: BitConverter.ToUInt64(b, 40),
        DevMajor: BitConverter.ToUInt32(b, 136), DevMinor: BitConverter.ToUInt32(b, 140));

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buf);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc")]
    private static partial uint getuid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr getpwuid(uint uid);
}
