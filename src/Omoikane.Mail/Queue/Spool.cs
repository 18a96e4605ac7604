using System.Text;
using Microsoft.Win32.SafeHandles;
using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Queue;

/// <summary>
/// The durable queue: one file per message in queue_directory/messages (envelope, content with LF line
/// endings, end marker), written under incoming/ and renamed into place, then made durable through
/// <see cref="GroupCommit"/> before the server answers 250. Delivery state of a deferred message lives
/// beside it in state/ (see <see cref="QueueState"/>). Files found incomplete at start are moved to corrupt/.
/// </summary>
public sealed class Spool
{
    private readonly GroupCommit _commit;
    public string Root { get; }
    public string IncomingDir { get; }
    public string MessagesDir { get; }
    public string StateDir { get; }
    public string CorruptDir { get; }
    public GroupCommit Commit => _commit;

    public Spool(string queueDirectory, GroupCommit commit)
    {
        Root = queueDirectory;
        IncomingDir = Path.Combine(queueDirectory, "incoming");
        MessagesDir = Path.Combine(queueDirectory, "messages");
        StateDir = Path.Combine(queueDirectory, "state");
        CorruptDir = Path.Combine(queueDirectory, "corrupt");
        _commit = commit;
    }

    public void EnsureDirectories()
    {
        foreach (var d in new[] { Root, IncomingDir, MessagesDir, StateDir, CorruptDir })
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
        var path = Path.Combine(IncomingDir, id);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (File.Exists(MessagePath(id))) throw new IOException($"queue id {id} already in use");
        return new SpoolWriter(this, id, path, new FileStream(path, options), envelope);
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
            var marker = Encoding.ASCII.GetBytes(QueueEnvelope.EndMarker);
            if (length < offset + marker.Length) { error = "truncated (no end marker)"; return null; }
            var tail = new byte[marker.Length];
            fs.Seek(length - marker.Length, SeekOrigin.Begin);
            fs.ReadExactly(tail);
            if (!tail.AsSpan().SequenceEqual(marker)) { error = "truncated (no end marker)"; return null; }
            return new QueueMessageFile(id, path, env, offset, length - marker.Length - offset);
        }
        catch (FileNotFoundException) { error = "not found"; return null; }
        catch (IOException ex) { error = ex.Message; return null; }
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

    /// <summary>Removes a message and its state once every recipient is done.</summary>
    public void Remove(string id)
    {
        try { File.Delete(StatePath(id)); } catch (IOException) { }
        try { File.Delete(MessagePath(id)); } catch (IOException) { }
    }
}

/// <summary>A committed queue file: envelope, and where the content lies in the file.</summary>
public sealed record QueueMessageFile(string Id, string Path, QueueEnvelope Envelope, long ContentOffset, long ContentLength);

/// <summary>Writes one message into the spool. The content is streamed; CommitAsync makes it durable.</summary>
public sealed class SpoolWriter : IAsyncDisposable
{
    private readonly Spool _spool;
    private readonly string _tempPath;
    private readonly FileStream _file;
    private readonly BufferedStream _buffer;
    private bool _committed, _aborted;

    internal SpoolWriter(Spool spool, string id, string tempPath, FileStream file, QueueEnvelope envelope)
    {
        _spool = spool; Id = id; _tempPath = tempPath; _file = file; Envelope = envelope;
        _buffer = new BufferedStream(file, 64 * 1024);
        var head = Encoding.UTF8.GetBytes(envelope.Serialize());
        _buffer.Write(head);
    }

    public string Id { get; }
    public QueueEnvelope Envelope { get; private set; }

    /// <summary>The content stream (LF line endings expected).</summary>
    public Stream Content => _buffer;

    /// <summary>Writes the end marker, renames into messages/, and waits for the group commit.</summary>
    public async Task CommitAsync(CancellationToken ct = default)
    {
        await _buffer.WriteAsync(Encoding.ASCII.GetBytes(QueueEnvelope.EndMarker), ct).ConfigureAwait(false);
        await _buffer.FlushAsync(ct).ConfigureAwait(false);
        var final = _spool.MessagePath(Id);
        File.Move(_tempPath, final);
        _committed = true;
        await _spool.Commit.CommitAsync(_file.SafeFileHandle, _spool.MessagesDir).ConfigureAwait(false);
    }

    public void Abort()
    {
        if (_committed || _aborted) return;
        _aborted = true;
        try { _buffer.Dispose(); } catch (IOException) { }
        try { File.Delete(_tempPath); } catch (IOException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_committed) { Abort(); return; }
        try { await _buffer.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
    }
}
