using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Tests.Queue;

/// <summary>The group commit: requests made together complete together; a Maildir rename fails alone.</summary>
public sealed class GroupCommitTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omoikane-commit-").FullName;
    private readonly GroupCommit _commit = new();

    public async ValueTask DisposeAsync()
    {
        await _commit.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task RenamesOnlyAfterTheFlushAndAFailedRenameFailsOnlyItsRequest()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "tmp"));
        Directory.CreateDirectory(Path.Combine(_dir, "new"));
        var tasks = new List<Task>();
        var handles = new List<FileStream>();
        for (int i = 0; i < 20; i++)
        {
            var tmp = Path.Combine(_dir, "tmp", $"m{i}");
            var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write);
            fs.Write(new byte[100 + i]);
            fs.Flush();
            handles.Add(fs);
            tasks.Add(_commit.CommitThenRenameAsync(fs.SafeFileHandle, tmp, Path.Combine(_dir, "new", $"m{i}")));
        }
        // One request whose source is gone: its rename fails, the others still complete.
        var stray = new FileStream(Path.Combine(_dir, "tmp", "stray"), FileMode.CreateNew, FileAccess.Write);
        handles.Add(stray);
        var gone = _commit.CommitThenRenameAsync(stray.SafeFileHandle, Path.Combine(_dir, "tmp", "missing"), Path.Combine(_dir, "new", "missing"));
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<FileNotFoundException>(() => gone);
        foreach (var h in handles) h.Dispose();
        for (int i = 0; i < 20; i++)
            Assert.Equal(100 + i, new FileInfo(Path.Combine(_dir, "new", $"m{i}")).Length);
        Assert.Equal(new[] { "stray" }, Directory.GetFiles(Path.Combine(_dir, "tmp")).Select(Path.GetFileName));
        var (flushes, served) = _commit.Statistics;
        Assert.Equal(21, served);
        Assert.InRange(flushes, 1, 21);
    }

    [Fact]
    public async Task ASingleMaildirStepAndASingleQueueFileAreDurableToo()
    {
        // One file and its rename (fsync, rename, directory fsync), then one file and its directory
        // entry (two syncs: one syncfs while little is dirty, else fsync and directory fsync).
        Directory.CreateDirectory(Path.Combine(_dir, "tmp"));
        Directory.CreateDirectory(Path.Combine(_dir, "new"));
        var tmp = Path.Combine(_dir, "tmp", "one");
        await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        {
            fs.Write("hello\n"u8);
            fs.Flush();
            await _commit.CommitThenRenameAsync(fs.SafeFileHandle, tmp, Path.Combine(_dir, "new", "one"));
        }
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(_dir, "new", "one")));
        Assert.False(File.Exists(tmp));
        var queued = Path.Combine(_dir, "queued");
        await using (var fs = new FileStream(queued, FileMode.CreateNew, FileAccess.Write))
        {
            fs.Write("x"u8);
            fs.Flush();
            await _commit.CommitAsync(fs.SafeFileHandle, _dir);
        }
        Assert.Equal(2, _commit.Statistics.Requests);
    }

    [Fact]
    public async Task RequestsAfterDisposeFail()
    {
        var commit = new GroupCommit();
        await commit.CommitAsync(null, _dir);
        await commit.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => commit.CommitAsync(null, _dir));
    }
}
