using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Tests.Queue;

/// <summary>
/// The lock files (user store, POP3 maildrops) hold an exclusive flock(2) of their own: the tests run,
/// as omoikane does, with .NET's FileShare locking turned off (System.IO.DisableFileLocking).
/// </summary>
public sealed class FileLockTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omoikane-lock-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FileStreamOptions Options() => new() { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite };

    [Fact]
    public void RunsWithDotNetFileLockingOff()
    {
        Assert.True(AppContext.TryGetSwitch("System.IO.DisableFileLocking", out var off) && off);
        // With the emulation off, two plain FileShare.None opens of one file both succeed...
        var path = Path.Combine(_dir, "plain");
        using var a = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var b = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
    }

    [Fact]
    public void SecondHolderIsRefusedUntilTheFirstLetsGo()
    {
        var path = Path.Combine(_dir, "x.lock");
        var first = FileLock.TryOpenExclusive(path, Options());
        Assert.NotNull(first);
        Assert.Null(FileLock.TryOpenExclusive(path, Options()));
        first!.Dispose();
        using var again = FileLock.TryOpenExclusive(path, Options());
        Assert.NotNull(again);
    }

    [Fact]
    public void LockIsSeenByAnotherProcess()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(File.Exists("/usr/bin/flock"), "flock(1) from util-linux is part of every Linux system");
        var path = Path.Combine(_dir, "y.lock");
        using var held = FileLock.TryOpenExclusive(path, Options());
        Assert.NotNull(held);
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/flock", ["-n", "-x", path, "true"])
        {
            RedirectStandardError = true,
        })!;
        Assert.True(p.WaitForExit(10_000));
        Assert.Equal(1, p.ExitCode);   // flock -n: "would block"
    }
}
