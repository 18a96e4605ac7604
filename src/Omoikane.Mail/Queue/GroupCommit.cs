using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Omoikane.Mail.Queue;

/// <summary>
/// Makes writes durable for many writers with one flush (group commit). Writers hand in the file they
/// wrote (still open) and the directory whose entry changed; one flusher takes every request that is
/// waiting, fsyncs each file and then each distinct directory once, and completes them all. On a
/// journaling file system the first fsync commits the transaction that holds every file and entry of
/// the batch, so the others find little left to do: one disk flush serves the whole batch.
/// Nothing is acknowledged before its flush has returned.
/// </summary>
public sealed class GroupCommit : IAsyncDisposable
{
    private sealed record Request(SafeFileHandle? File, string? Directory, TaskCompletionSource Done, string? RenameFrom, string? RenameTo)
    {
        public Exception? Error { get; set; }
    }

    // The flusher is a thread of its own that blocks (wait, gather, fsync): nothing of it runs on the
    // thread pool, whose threads would otherwise be woken, blocked in fsync and replaced.
    private readonly BatchQueue<Request> _requests = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _useSyncfs;
    private long _flushes, _requestsServed;
    private readonly TimeSpan _gather;

    /// <param name="allowSyncfs">Always flush a batch with one syncfs(2), however much else is dirty on the
    /// file system (by default only while the system holds little dirty data).</param>
    /// <param name="gather">How long to wait after the first request for others to join the flush. Zero for
    /// the queue (the client waits for it); a few milliseconds for Maildir deliveries, whose fewer, larger
    /// flushes leave the disk to the queue's flushes.</param>
    public GroupCommit(bool allowSyncfs = false, TimeSpan gather = default)
    {
        _useSyncfs = allowSyncfs && OperatingSystem.IsLinux();
        _gather = gather;
        _thread = new Thread(Loop) { IsBackground = true, Name = "omoikane fsync" };
        _thread.Start();
    }

    /// <summary>Number of flushes made and requests served (requests per flush: how well batches form).</summary>
    public (long Flushes, long Requests) Statistics => (Interlocked.Read(ref _flushes), Interlocked.Read(ref _requestsServed));

    /// <summary>Completes when the file's data and the directory entry are on disk.</summary>
    public Task CommitAsync(SafeFileHandle? file, string? directory) => Enqueue(file, directory, null, null);

    /// <summary>
    /// The Maildir step in one request: makes <paramref name="file"/> durable, then renames
    /// <paramref name="from"/> to <paramref name="to"/> and makes that entry durable (the rename
    /// happens only once the data is on disk, so a crash never leaves a partial file under the new name).
    /// </summary>
    public Task CommitThenRenameAsync(SafeFileHandle file, string from, string to)
        => Enqueue(file, Path.GetDirectoryName(to), from, to);

    private Task Enqueue(SafeFileHandle? file, string? directory, string? renameFrom, string? renameTo)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_requests.TryAdd(new Request(file, directory, tcs, renameFrom, renameTo)))
            tcs.SetException(new ObjectDisposedException(nameof(GroupCommit)));
        return tcs.Task;
    }

    private void Loop()
    {
        var batch = new List<Request>(64);
        try
        {
            while (_requests.WaitForItems())
            {
                if (_gather > TimeSpan.Zero) Thread.Sleep(_gather);
                _requests.TakeAll(ref batch);
                Exception? error = null;
                try { Flush(batch); }
                catch (Exception ex) { error = ex; }
                Interlocked.Increment(ref _flushes);
                Interlocked.Add(ref _requestsServed, batch.Count);
                foreach (var r in batch)
                {
                    var failed = error ?? r.Error;
                    if (failed is null) r.Done.TrySetResult();
                    else r.Done.TrySetException(failed);
                }
                batch.Clear();
            }
        }
        finally { _stopped.TrySetResult(); }
    }

    private void Flush(List<Request> batch)
    {
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        int files = 0, entries = 0;
        foreach (var r in batch)
        {
            if (r.File is not null && !r.File.IsClosed) files++;
            if (r.Directory is not null && r.RenameFrom is null) entries++;
        }
        if (files > 0 && (_useSyncfs || files + entries >= 2 && SystemDirtyIsSmall()))
        {
            // One syncfs(2) writes back every file and directory entry of the batch and flushes the
            // disk's cache once, where an fsync per file and per directory flushes it each time. It
            // would also write back whatever else is dirty on the file system, so it is used only
            // while the system holds little dirty data (or when allowed outright).
            var first = batch.First(r => r.File is not null && !r.File.IsClosed).File!;
            if (syncfs((int)first.DangerousGetHandle()) != 0)
                throw new IOException($"syncfs failed (errno {Marshal.GetLastPInvokeError()})");
            // Entries made before it are on disk with it: only the renames still to come need a directory fsync.
            RenameAndSyncDirectories(batch, dirs, renamedOnly: true);
            return;
        }
        // Start write-back of every file first (Linux sync_file_range), so that the first fsync's
        // journal commit carries the data and metadata of the whole batch and the later ones find
        // nothing left to do; without it each fsync would commit a transaction of its own.
        if (OperatingSystem.IsLinux() && batch.Count > 1)
        {
            foreach (var r in batch)
                if (r.File is not null && !r.File.IsClosed)
                    sync_file_range((int)r.File.DangerousGetHandle(), 0, 0, SYNC_FILE_RANGE_WRITE);
        }

        // Then one fsync after the other on this thread: with the write-back already under way each
        // finds its data written or in flight; handing them to several threads was measured slower
        // (thread wake-ups and spinning cost more than the flushes they overlap).
        foreach (var r in batch)
            if (r.File is not null && !r.File.IsClosed) RandomAccess.FlushToDisk(r.File);
        RenameAndSyncDirectories(batch, dirs, renamedOnly: false);
    }

    /// <summary>Below this much dirty page cache in the whole system, a batch is flushed with one syncfs.</summary>
    public const long SyncfsDirtyLimitKiB = 8 * 1024;

    // True while "Dirty:" of /proc/meminfo (the whole system's page cache waiting for write-back) is
    // at most SyncfsDirtyLimitKiB; false when it cannot be read (not Linux, no /proc).
    private static bool SystemDirtyIsSmall()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            Span<byte> buf = stackalloc byte[2048];
            int n;
            using (var h = File.OpenHandle("/proc/meminfo")) n = RandomAccess.Read(h, buf, 0);
            var text = buf[..n];
            int at = text.IndexOf("\nDirty:"u8);
            if (at < 0) return false;
            var rest = text[(at + 7)..];
            int i = 0;
            while (i < rest.Length && rest[i] == (byte)' ') i++;
            long kib = 0;
            int digits = 0;
            for (; i < rest.Length && rest[i] is >= (byte)'0' and <= (byte)'9'; i++, digits++) kib = kib * 10 + (rest[i] - '0');
            return digits > 0 && kib <= SyncfsDirtyLimitKiB;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    // The Maildir renames (each once its file is durable), then one fsync per directory (with
    // renamedOnly, only the directories of those renames: the others were synced already).
    private static void RenameAndSyncDirectories(List<Request> batch, HashSet<string> dirs, bool renamedOnly)
    {
        foreach (var r in batch)
        {
            if (r.RenameFrom is not null)
            {
                // Its own failure fails only this request (and its directory need not be synced).
                try { FileRename.Rename(r.RenameFrom, r.RenameTo!); }
                catch (IOException ex) { r.Error = ex; continue; }
            }
            else if (renamedOnly) continue;
            if (r.Directory is not null) dirs.Add(r.Directory);
        }
        foreach (var d in dirs) FsyncDirectory(d);
    }

    /// <summary>fsync(2) of a directory, so a created or renamed entry survives a crash.</summary>
    public static void FsyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open directory {path} for fsync (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"fsync of directory {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally { close(fd); }
    }

    private const int O_RDONLY = 0, O_CLOEXEC = 0x80000; // x86_64 and aarch64 share these values
    [DllImport("libc", SetLastError = true)] private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int fsync(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int syncfs(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    private const uint SYNC_FILE_RANGE_WRITE = 2;
    [DllImport("libc", SetLastError = true)] private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);

    /// <summary>Serves what is pending, then stops the flusher.</summary>
    public async ValueTask DisposeAsync()
    {
        _requests.Close();
        await _stopped.Task.ConfigureAwait(false);
    }
}
