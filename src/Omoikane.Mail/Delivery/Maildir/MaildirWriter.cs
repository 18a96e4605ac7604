using System.Text;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Delivery.Maildir;

/// <summary>
/// Delivers into a Maildir ($virtual_mailbox_base/domain/local/{tmp,new,cur}) with the Maildir protocol:
/// write tmp/NAME, make it durable, rename to new/NAME, make the entry durable (Postfix local/maildir.c).
/// Unique names "secs.MusecPpidQn.host,S=size,W=vsize" (S: octets on disk with LF endings; W: the
/// RFC 822 size with CRLF, which POP3 reports without reading the file, as Dovecot does).
/// </summary>
public sealed class MaildirWriter
{
    private readonly string _base;
    private readonly GroupCommit _commit;
    private readonly string _host;
    private readonly int _pid = Environment.ProcessId;
    private long _seq;

    public MaildirWriter(string mailboxBase, GroupCommit commit, string hostname)
    {
        _base = mailboxBase;
        _commit = commit;
        // '/' and ':' may not appear in names; Maildir escapes them as \057 and \072.
        _host = hostname.Replace("/", "\\057").Replace(":", "\\072");
    }

    /// <summary>The Maildir of local@domain (<see cref="MailboxPath(string, string, string)"/>).</summary>
    public string MailboxPath(string domain, string local) => MailboxPath(_base, domain, local);

    /// <summary>
    /// The Maildir of local@domain: $virtual_mailbox_base/DOMAIN/LOCAL/, each the canonical form
    /// (<see cref="AddressKey"/>) written by <see cref="SafeSegment"/>. Every store that finds a mailbox
    /// by address (delivery, POP3 and its maildrop lock) goes through here, so that one address has one
    /// Maildir and two addresses never share one.
    /// </summary>
    public static string MailboxPath(string mailboxBase, string domain, string local)
        => Path.Combine(mailboxBase, SafeSegment(AddressKey.Domain(domain)), SafeSegment(AddressKey.Local(local)));

    /// <summary>The Maildir of a whole address "local@domain".</summary>
    public static string MailboxPathOf(string mailboxBase, string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 ? MailboxPath(mailboxBase, "", address) : MailboxPath(mailboxBase, address[(at + 1)..], address[..at]);
    }

    /// <summary>
    /// A path segment from an address part, escaped reversibly so that no two names share a directory
    /// and none escapes the mailbox base: "\", "/", control characters and a leading "." become "\ooo"
    /// (octal, as Maildir escapes "/" and ":" in host names); the empty name becomes "\". A segment that
    /// needs no escape is the name itself.
    /// </summary>
    public static string SafeSegment(string s)
    {
        if (s.Length == 0) return "\\";
        bool plain = s[0] != '.';
        foreach (var c in s)
            if (c is '/' or '\\' or < ' ' or '\x7f') { plain = false; break; }
        if (plain) return s;
        var sb = new StringBuilder(s.Length + 8);
        for (int i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '/' or '\\' or < ' ' or '\x7f' || (i == 0 && c == '.'))
                sb.Append('\\').Append(Convert.ToString((int)c, 8).PadLeft(3, '0'));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Known = new();

    public static void EnsureMaildir(string path)
    {
        if (Known.ContainsKey(path) && Directory.Exists(Path.Combine(path, "new"))) return;
        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            var d = Path.Combine(path, sub);
            if (Directory.Exists(d)) continue;
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(d);
            else Directory.CreateDirectory(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Known.TryAdd(path, 0);
    }

    /// <summary>
    /// Writes prefix headers followed by the queue file's content into the mailbox; returns the final path.
    /// </summary>
    /// <param name="deliveryKey">Queue id and recipient index ("3F2A81C0A2R0"), recorded in the unique name
    /// so that a delivery interrupted by a crash after the rename is recognised and not made twice.</param>
    public async Task<string> DeliverAsync(string mailbox, string prefixHeaders, QueueMessageFile message, string deliveryKey, CancellationToken ct = default)
    {
        EnsureMaildir(mailbox);
        var now = DateTimeOffset.UtcNow;
        var seq = Interlocked.Increment(ref _seq);
        var usec = now.Ticks / 10 % 1_000_000;
        var baseName = $"{now.ToUnixTimeSeconds()}.M{usec}P{_pid}Q{seq}X{deliveryKey}.{_host}";
        var tmp = Path.Combine(mailbox, "tmp", baseName);
        long size = 0, lines = 0;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 0 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        string final;
        await using (var fs = new FileStream(tmp, options))
        {
            try
            {
                var prefix = Encoding.UTF8.GetBytes(prefixHeaders);
                if (message.Content is { } content)
                {
                    // One write for the whole file, synchronous (FileStream's async write on Unix is this
                    // write on another thread).
                    var all = System.Buffers.ArrayPool<byte>.Shared.Rent(prefix.Length + content.Length);
                    try
                    {
                        prefix.CopyTo(all, 0);
                        content.Span.CopyTo(all.AsSpan(prefix.Length));
                        ct.ThrowIfCancellationRequested();
                        fs.Write(all.AsSpan(0, prefix.Length + content.Length));
                    }
                    finally { System.Buffers.ArrayPool<byte>.Shared.Return(all); }
                    size = prefix.Length + content.Length;
                    lines = CountLf(prefix) + CountLf(content.Span);
                }
                else
                {
                    await fs.WriteAsync(prefix, ct).ConfigureAwait(false);
                    size += prefix.Length;
                    lines += CountLf(prefix);
                    (long copied, long copiedLines) = await CopyContentAsync(message, fs, ct).ConfigureAwait(false);
                    size += copied;
                    lines += copiedLines;
                }
                // tmp → fsync → rename into new → fsync new: one request to the group commit.
                final = Path.Combine(mailbox, "new", $"{baseName},S={size},W={size + lines}");
                await _commit.CommitThenRenameAsync(fs.SafeFileHandle, tmp, final).ConfigureAwait(false);
            }
            catch
            {
                try { File.Delete(tmp); } catch (IOException) { }
                throw;
            }
        }
        return final;
    }

    // The content of a queue file whose copy was not kept in memory (large messages): read and written in chunks.
    private static async Task<(long Size, long Lines)> CopyContentAsync(QueueMessageFile message, FileStream target, CancellationToken ct)
    {
        long size = 0, lines = 0;
        await using var src = new FileStream(message.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        src.Seek(message.ContentOffset, SeekOrigin.Begin);
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long remaining = message.ContentLength;
            while (remaining > 0)
            {
                int n = await src.ReadAsync(buf.AsMemory(0, (int)Math.Min(buf.Length, remaining)), ct).ConfigureAwait(false);
                if (n == 0) throw new IOException("queue file shorter than its envelope says");
                await target.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
                lines += CountLf(buf.AsSpan(0, n));
                size += n;
                remaining -= n;
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buf); }
        return (size, lines);
    }

    /// <summary>
    /// Finds an earlier delivery of the same queue file and recipient (after a crash between the Maildir
    /// rename and the removal of the queue file). Only called for messages recovered at start.
    /// </summary>
    public static string? FindDelivered(string mailbox, string deliveryKey)
    {
        var marker = $"X{deliveryKey}.";
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = Path.Combine(mailbox, sub);
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.EnumerateFiles(dir))
                if (Path.GetFileName(f).Contains(marker, StringComparison.Ordinal)) return f;
        }
        return null;
    }

    private static long CountLf(ReadOnlySpan<byte> span) => span.Count((byte)'\n');
}
