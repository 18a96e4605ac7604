using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Omoikane.Mail.Delivery.Maildir;

namespace Omoikane.Server.Pop3;

/// <summary>
/// A user's Maildir as a POP3 maildrop (RFC 1939 §3): locked for the session, new/ messages moved into
/// cur/ at login, listed once in delivery order, deletions marked in memory and carried out only in the
/// UPDATE state. Sizes and unique ids come from the file names (MaildirWriter's ",W=" field), so a large
/// maildrop is listed without opening its messages.
/// </summary>
public sealed class Maildrop : IDisposable
{
    private readonly MaildropLock _lock;
    private readonly MaildropMessage[] _messages;
    private readonly bool[] _deleted;
    private int _deletedCount;
    private long _deletedSize;

    private Maildrop(string path, MaildropLock held, MaildropMessage[] messages)
    {
        Path = path;
        _lock = held;
        _messages = messages;
        _deleted = new bool[messages.Length];
        foreach (var m in messages) InitialSize += m.Size;
    }

    /// <summary>The Maildir directory.</summary>
    public string Path { get; }

    /// <summary>Messages listed at login, deleted ones included (numbers stay stable, RFC 1939 §5).</summary>
    public int Total => _messages.Length;

    /// <summary>The size of the maildrop at login.</summary>
    public long InitialSize { get; }

    /// <summary>Messages not marked as deleted (STAT, RFC 1939 §5).</summary>
    public int Count => _messages.Length - _deletedCount;

    /// <summary>The size of the messages not marked as deleted.</summary>
    public long Size => InitialSize - _deletedSize;

    public int DeletedCount => _deletedCount;

    /// <summary>The Maildir of an address, as delivery finds it (<see cref="MaildirWriter.MailboxPathOf"/>).</summary>
    public static string MailboxPath(string mailboxBase, string address) => MaildirWriter.MailboxPathOf(mailboxBase, address);

    /// <summary>Locks and lists the maildrop of <paramref name="address"/>; creates the Maildir when there is none yet.</summary>
    public static MaildropStatus Open(string mailboxBase, string address, MaildropLocks locks, out Maildrop? maildrop, out string? error)
    {
        maildrop = null;
        var path = MailboxPath(mailboxBase, address);
        try { MaildirWriter.EnsureMaildir(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            return MaildropStatus.Failed;
        }
        var status = locks.TryAcquire(path, out var held, out error);
        if (status != MaildropStatus.Ok) return status;
        try
        {
            MoveNewToCur(path);
            maildrop = new Maildrop(path, held!, List(path));
            return MaildropStatus.Ok;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            held!.Dispose();
            error = ex.Message;
            return MaildropStatus.Failed;
        }
    }

    /// <summary>The message numbered <paramref name="number"/> (1-based) unless it is out of range or deleted.</summary>
    public bool TryGet(int number, out MaildropMessage message)
    {
        message = default;
        if (number < 1 || number > _messages.Length || _deleted[number - 1]) return false;
        message = _messages[number - 1];
        return true;
    }

    public bool IsDeleted(int number) => _deleted[number - 1];

    /// <summary>The message at <paramref name="number"/> (1-based, in range), deleted or not.</summary>
    public MaildropMessage this[int number] => _messages[number - 1];

    /// <summary>DELE (RFC 1939 §5): marks; false when out of range or already marked.</summary>
    public bool MarkDeleted(int number)
    {
        if (!TryGet(number, out var m)) return false;
        _deleted[number - 1] = true;
        _deletedCount++;
        _deletedSize += m.Size;
        return true;
    }

    /// <summary>RSET (RFC 1939 §5): unmarks every message.</summary>
    public void ResetDeletions()
    {
        Array.Clear(_deleted);
        _deletedCount = 0;
        _deletedSize = 0;
    }

    /// <summary>Opens a message for reading, or null when its file is gone.</summary>
    public FileStream? OpenMessage(MaildropMessage message)
    {
        try
        {
            return new FileStream(System.IO.Path.Combine(Path, "cur", message.FileName), new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0, Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
            });
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    /// <summary>
    /// The UPDATE state (RFC 1939 §6): removes the marked messages. Returns how many could not be removed
    /// (a message already gone counts as removed).
    /// </summary>
    public int CommitDeletions()
    {
        int failed = 0;
        for (int i = 0; i < _messages.Length; i++)
        {
            if (!_deleted[i]) continue;
            try { File.Delete(System.IO.Path.Combine(Path, "cur", _messages[i].FileName)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { failed++; }
        }
        return failed;
    }

    /// <summary>Releases the lock; marked messages stay (a session that ends without QUIT deletes nothing).</summary>
    public void Dispose() => _lock.Dispose();

    // Maildir: a reader moves new/NAME to cur/NAME:2, (no flags yet).
    private static void MoveNewToCur(string path)
    {
        var newDir = System.IO.Path.Combine(path, "new");
        var curDir = System.IO.Path.Combine(path, "cur");
        foreach (var file in Directory.EnumerateFiles(newDir))
        {
            var name = System.IO.Path.GetFileName(file);
            if (name.StartsWith('.')) continue;
            var target = System.IO.Path.Combine(curDir, name.Contains(':') ? name : name + ":2,");
            try { File.Move(file, target, overwrite: false); }
            catch (FileNotFoundException) { }
            catch (IOException) when (File.Exists(target)) { }
        }
    }

    private static MaildropMessage[] List(string path)
    {
        var cur = System.IO.Path.Combine(path, "cur");
        var entries = new List<(long Secs, long Usec, MaildropMessage Message)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(cur))
        {
            var name = System.IO.Path.GetFileName(file);
            if (name.StartsWith('.')) continue;
            var unique = UniqueName(name);
            long size = SizeFromName(name) ?? CachedCrlfSize(file);
            if (size < 0) continue;   // vanished while listing
            var uid = UidFor(unique);
            if (!seen.Add(uid)) uid = UidFor(name);
            var (secs, usec) = DeliveryTime(unique);
            entries.Add((secs, usec, new MaildropMessage(name, uid, size)));
        }
        entries.Sort((a, b) =>
        {
            int c = a.Secs.CompareTo(b.Secs);
            if (c == 0) c = a.Usec.CompareTo(b.Usec);
            return c != 0 ? c : string.CompareOrdinal(a.Message.FileName, b.Message.FileName);
        });
        var result = new MaildropMessage[entries.Count];
        for (int i = 0; i < result.Length; i++) result[i] = entries[i].Message;
        return result;
    }

    /// <summary>The Maildir unique name: the base before the info (":2,...") and before any ",S=" fields.</summary>
    public static string UniqueName(string fileName)
    {
        int end = fileName.IndexOfAny([':', ',']);
        return end < 0 ? fileName : fileName[..end];
    }

    /// <summary>
    /// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E. A Maildir unique name that does not
    /// fit is replaced by its MD5 in hex, which is just as stable.
    /// </summary>
    public static string UidFor(string unique)
    {
        bool ok = unique.Length is >= 1 and <= 70;
        foreach (var c in unique)
            if (c < 0x21 || c > 0x7E) { ok = false; break; }
        return ok ? unique : Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(unique)));
    }

    /// <summary>The ",W=" field (the size with CRLF line endings) of a Maildir file name, when present.</summary>
    public static long? SizeFromName(string fileName)
    {
        int colon = fileName.IndexOf(':');
        var basePart = colon < 0 ? fileName.AsSpan() : fileName.AsSpan(0, colon);
        int comma = basePart.IndexOf(',');
        if (comma < 0) return null;
        foreach (var range in basePart[(comma + 1)..].Split(','))
        {
            var field = basePart[(comma + 1)..][range];
            if (field.StartsWith("W=") && long.TryParse(field[2..], NumberStyles.None, CultureInfo.InvariantCulture, out var w))
                return w;
        }
        return null;
    }

    // Maildir messages never change under their unique name, so a size computed once stays right
    // (Dovecot keeps the same in its index). Bounded: cleared when it grows past the limit.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> SizeCache = new(StringComparer.Ordinal);
    private const int SizeCacheLimit = 200_000;

    private static long CachedCrlfSize(string file)
    {
        if (SizeCache.TryGetValue(file, out var cached)) return cached;
        var size = CrlfSizeOfFile(file);
        if (size < 0) return size;
        if (SizeCache.Count >= SizeCacheLimit) SizeCache.Clear();
        SizeCache[file] = size;
        return size;
    }

    /// <summary>For a file named without ",W=": its size as sent (each bare LF becomes CRLF, and a last line gets its CRLF).</summary>
    public static long CrlfSizeOfFile(string file)
    {
        try
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0);
            var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                long size = 0;
                byte prev = (byte)'\n';
                int n;
                while ((n = fs.Read(buf, 0, buf.Length)) > 0)
                {
                    var span = buf.AsSpan(0, n);
                    size += n;
                    for (int i = 0; i < n; i++)
                    {
                        if (span[i] == (byte)'\n' && (i > 0 ? span[i - 1] : prev) != (byte)'\r') size++;
                    }
                    prev = span[n - 1];
                }
                if (size > 0 && prev != (byte)'\n') size += prev == (byte)'\r' ? 1 : 2;
                return size;
            }
            finally { System.Buffers.ArrayPool<byte>.Shared.Return(buf); }
        }
        catch (FileNotFoundException) { return -1; }
    }

    // "secs.MusecP..." → (secs, usec); names of other writers sort after, by name.
    private static (long, long) DeliveryTime(string unique)
    {
        int dot = unique.IndexOf('.');
        if (dot <= 0 || !long.TryParse(unique.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var secs))
            return (long.MaxValue, 0);
        long usec = 0;
        if (dot + 1 < unique.Length && unique[dot + 1] == 'M')
        {
            int i = dot + 2, start = i;
            while (i < unique.Length && char.IsAsciiDigit(unique[i])) i++;
            if (i > start && i - start <= 9) usec = long.Parse(unique.AsSpan(start, i - start), CultureInfo.InvariantCulture);
        }
        return (secs, usec);
    }
}
