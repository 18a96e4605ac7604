using System.Text;
using Microsoft.Win32.SafeHandles;
using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Queue;

/// <summary>
/// The durable queue: one file per message in queue_directory/messages (envelope, content with LF line
/// endings, end record with the content's size and CRC-32C), written under incoming/ and renamed into place, then made durable through
/// <see cref="GroupCommit"/> before the server answers 250. Delivery state of a deferred message lives
/// beside it in state/ (see <see cref="QueueState"/>). Files found incomplete or torn are moved to corrupt/.
/// </summary>
public sealed class Spool
{
    private readonly GroupCommit _commit;
    public string Root { get; }
    public string IncomingDir { get; }
    public string MessagesDir { get; }
    public string StateDir { get; }
    public string CorruptDir { get; }
    /// <summary>Emptied queue files kept for reuse: creating and deleting a file per message makes ext4's
    /// inode allocator scan past every recently deleted inode; reusing the files avoids that churn.</summary>
    public string FreeDir { get; }
    public GroupCommit Commit => _commit;
    private readonly System.Collections.Concurrent.ConcurrentStack<string> _free = new();
    private int _freeCount;
    private const int MaxFreeFiles = 4096;
    private static long _freeSeq;

    public Spool(string queueDirectory, GroupCommit commit)
    {
        Root = queueDirectory;
        IncomingDir = Path.Combine(queueDirectory, "incoming");
        MessagesDir = Path.Combine(queueDirectory, "messages");
        StateDir = Path.Combine(queueDirectory, "state");
        CorruptDir = Path.Combine(queueDirectory, "corrupt");
        FreeDir = Path.Combine(queueDirectory, "free");
        _commit = commit;
    }

    public void EnsureDirectories()
    {
        foreach (var d in new[] { Root, IncomingDir, MessagesDir, StateDir, CorruptDir, FreeDir })
        {
            if (!Directory.Exists(d))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(d);
                else Directory.CreateDirectory(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        // Leftovers of sessions that never reached 250 are not messages.
        foreach (var f in Directory.EnumerateFiles(IncomingDir))
            try { File.Delete(f); } catch (IOException) { }
        foreach (var f in Directory.EnumerateFiles(FreeDir))
        {
            if (_freeCount < MaxFreeFiles) { _free.Push(f); _freeCount++; }
            else try { File.Delete(f); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Opens the file a new message is written into: a reused (emptied) one, written where it lies in
    /// free/ and over its old bytes (no rename, and no truncation that would free its blocks only for
    /// the new content to allocate them again; the commit cuts what is left of the old content), or
    /// else a new file at <paramref name="incomingPath"/>.
    /// </summary>
    private FileStream OpenNew(string incomingPath, out string tempPath, out long previousLength)
    {
        while (_free.TryPop(out var free))
        {
            Interlocked.Decrement(ref _freeCount);
            try
            {
                var fs = new FileStream(free, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 0 });
                tempPath = free;
                previousLength = fs.Length;
                return fs;
            }
            catch (IOException) { }
        }
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        tempPath = incomingPath;
        previousLength = 0;
        return new FileStream(incomingPath, options);
    }

    public string MessagePath(string id) => Path.Combine(MessagesDir, id);
    public string StatePath(string id) => Path.Combine(StateDir, id);

    /// <summary>Starts a new queue file for the envelope; the caller streams the content, then commits or aborts.</summary>
    public SpoolWriter Create(Func<string, QueueEnvelope> envelopeFor, TimeProvider? time = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            var id = QueueId.Next(time);
            var path = Path.Combine(IncomingDir, id);
            try
            {
                var options = new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read,
                    BufferSize = 0, Options = FileOptions.None,
                };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                var fs = new FileStream(path, options);
                var env = envelopeFor(id);
                return new SpoolWriter(this, id, path, fs, env);
            }
            catch (IOException) when (attempt < 16 && File.Exists(path))
            {
                // Id collision with a leftover file: take the next id.
            }
        }
    }

    /// <summary>Creates the queue file under an id chosen earlier (Postfix assigns the id at the first accepted RCPT).</summary>
    public SpoolWriter Create(string id, QueueEnvelope envelope)
    {
        var file = OpenNew(Path.Combine(IncomingDir, id), out var tempPath, out var previousLength);
        return new SpoolWriter(this, id, tempPath, file, envelope, previousLength);
    }

    /// <summary>Ids of all committed messages.</summary>
    public IEnumerable<string> ListIds()
    {
        if (!Directory.Exists(MessagesDir)) yield break;
        foreach (var f in Directory.EnumerateFiles(MessagesDir))
        {
            var name = Path.GetFileName(f);
            if (QueueId.IsValid(name)) yield return name;
        }
    }

    /// <summary>Reads a queue file's envelope, checking the file is complete (end marker present).</summary>
    public QueueMessageFile? Open(string id, out string? error)
    {
        error = null;
        var path = MessagePath(id);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            var length = fs.Length;
            var headLen = (int)Math.Min(length, 1 << 20);
            var head = new byte[headLen];
            fs.ReadExactly(head, 0, headLen);
            var env = QueueEnvelope.TryParse(head, out var offset, out error);
            if (env is null) return null;
            // A reused queue file is renamed into place before its flush: after a crash in between it
            // may still hold the message it held before, which was delivered when the file was freed.
            if (env.QueueId != id) { error = $"holds queue id {env.QueueId} (a reused file not yet rewritten at a crash)"; return null; }
            var tail = new byte[(int)Math.Min(length - offset, QueueEnvelope.EndRecordMaxLength)];
            fs.Seek(length - tail.Length, SeekOrigin.Begin);
            fs.ReadExactly(tail);
            if (!QueueEnvelope.TryParseEndRecord(tail, out var recordLength, out var check)) { error = "truncated (no end marker)"; return null; }
            var contentLength = length - recordLength - offset;
            // The end record holds the content's size and CRC-32C: a file renamed into place before its flush
            // and torn by a crash (new envelope and end record around blocks of the message it held before)
            // fails them. Files of earlier versions end in a bare marker and are taken unchecked.
            if (check is { } c)
            {
                if (c.Size != contentLength) { error = $"content is {contentLength} bytes, its end record says {c.Size} (torn write)"; return null; }
                var crc = ContentCrc(fs, head, offset, contentLength);
                if (crc != c.Crc) { error = $"content checksum mismatch: crc32c {crc:x8}, end record {c.Crc:x8} (torn write)"; return null; }
            }
            return new QueueMessageFile(id, path, env, offset, contentLength);
        }
        catch (FileNotFoundException) { error = "not found"; return null; }
        catch (IOException ex) { error = ex.Message; return null; }
    }

    /// <summary>CRC-32C of the content: the part already read with the envelope, then the rest of the file.</summary>
    private static uint ContentCrc(FileStream fs, byte[] head, int offset, long contentLength)
    {
        var inHead = (int)Math.Min(contentLength, head.Length - offset);
        var crc = Crc32C.Append(Crc32C.Initial, head.AsSpan(offset, inHead));
        var left = contentLength - inHead;
        if (left == 0) return Crc32C.Finish(crc);
        fs.Seek(offset + inHead, SeekOrigin.Begin);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (left > 0)
            {
                var n = fs.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0) throw new EndOfStreamException("queue file shrank while read");
                crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
                left -= n;
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        return Crc32C.Finish(crc);
    }

    /// <summary>Moves a broken queue file aside (never deletes it) and logs it.</summary>
    public void Quarantine(string id, string reason, MailLog log)
    {
        try
        {
            File.Move(MessagePath(id), Path.Combine(CorruptDir, id), overwrite: true);
            log.Warning("qmgr", $"{id}: queue file is corrupt ({reason}); moved to {Path.GetFileName(Root)}/corrupt/{id}");
        }
        catch (IOException ex) { log.Warning("qmgr", $"{id}: cannot quarantine corrupt queue file: {ex.Message}"); }
    }

    /// <summary>Removes a message and its state once every recipient is done; the file is kept for reuse.</summary>
    public void Remove(string id, bool hasState = true)
    {
        if (hasState) { try { File.Delete(StatePath(id)); } catch (IOException) { } }
        var path = MessagePath(id);
        if (Interlocked.Increment(ref _freeCount) <= MaxFreeFiles)
        {
            var free = Path.Combine(FreeDir, $"f{Interlocked.Increment(ref _freeSeq)}.{Environment.ProcessId}");
            try
            {
                FileRename.Rename(path, free);
                _free.Push(free);
                return;
            }
            catch (IOException) { }
        }
        Interlocked.Decrement(ref _freeCount);
        try { File.Delete(path); } catch (IOException) { }
    }
}

/// <summary>A committed queue file: envelope, and where the content lies in the file.</summary>
public sealed record QueueMessageFile(string Id, string Path, QueueEnvelope Envelope, long ContentOffset, long ContentLength)
{
    /// <summary>The content, when the writer kept a copy (small messages handed straight to delivery).</summary>
    public ReadOnlyMemory<byte>? Content { get; init; }
}

/// <summary>Writes one message into the spool. The content is streamed; CommitAsync makes it durable.</summary>
public sealed class SpoolWriter : IAsyncDisposable
{
    private readonly Spool _spool;
    private readonly string _tempPath;
    private readonly long _previousLength;   // of a reused file: its old content beyond the new is cut at commit
    private readonly FileStream _file;
    private readonly PooledWriteBuffer _buffer;
    private readonly CopyingStream _content;
    private readonly int _headLength;
    private bool _committed, _aborted;

    /// <summary>Content up to this size is also kept in memory for delivery (no second read of the file).</summary>
    public const int InMemoryLimit = 64 * 1024;
    private static long _inMemoryTotal;
    private const long InMemoryTotalLimit = 64L * 1024 * 1024;

    internal SpoolWriter(Spool spool, string id, string tempPath, FileStream file, QueueEnvelope envelope, long previousLength = 0)
    {
        _spool = spool; Id = id; _tempPath = tempPath; _file = file; Envelope = envelope; _previousLength = previousLength;
        _buffer = new PooledWriteBuffer(file);
        var head = Encoding.UTF8.GetBytes(envelope.Serialize());
        _headLength = head.Length;
        _buffer.Write(head);
        _content = new CopyingStream(_buffer, InMemoryLimit);
    }

    public string Id { get; }
    public QueueEnvelope Envelope { get; private set; }

    /// <summary>The content stream (LF line endings expected).</summary>
    public Stream Content => _content;

    /// <summary>
    /// The committed message as delivery sees it, with the content in memory when it was small (bounded in
    /// total, so a backlog never holds much memory: past the bound delivery reads the file).
    /// </summary>
    public QueueMessageFile Committed()
    {
        var copy = _content.Copy;
        if (copy is { } c && Interlocked.Add(ref _inMemoryTotal, c.Length) > InMemoryTotalLimit)
        {
            Interlocked.Add(ref _inMemoryTotal, -c.Length);
            copy = null;
        }
        return new QueueMessageFile(Id, _spool.MessagePath(Id), Envelope, _headLength, _content.Length) { Content = copy };
    }

    /// <summary>Returns the memory accounted for a message's in-memory content once delivery is done with it.</summary>
    public static void Release(QueueMessageFile message)
    {
        if (message.Content is { } c) Interlocked.Add(ref _inMemoryTotal, -c.Length);
    }

    /// <summary>Writes the end record (content size and CRC-32C), renames into messages/, and waits for the group commit.</summary>
    public async Task CommitAsync(CancellationToken ct = default)
    {
        // Synchronous: a write into the page cache is quick, and FileStream's async methods on Unix
        // only hand the same synchronous write to a thread-pool thread (two thread switches).
        // (The content stream writes straight through to _buffer: one flush writes it all.)
        ct.ThrowIfCancellationRequested();
        Span<byte> end = stackalloc byte[QueueEnvelope.EndRecordMaxLength];
        _buffer.Write(end[..QueueEnvelope.WriteEndRecord(end, _content.Length, _content.Crc)]);
        _buffer.Flush();
        if (_previousLength > _file.Position) _file.SetLength(_file.Position);
        var final = _spool.MessagePath(Id);
        FileRename.Rename(_tempPath, final);
        _committed = true;
        await _spool.Commit.CommitAsync(_file.SafeFileHandle, _spool.MessagesDir).ConfigureAwait(false);
    }

    public void Abort()
    {
        if (_committed || _aborted) return;
        _aborted = true;
        _buffer.Dispose();
        try { _file.Dispose(); } catch (IOException) { }
        try { File.Delete(_tempPath); } catch (IOException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_committed) { Abort(); return; }
        _buffer.Dispose();
        try { await _file.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
    }
}
