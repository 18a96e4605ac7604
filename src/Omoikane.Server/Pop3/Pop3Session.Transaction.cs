using System.Globalization;
using System.Text;

namespace Omoikane.Server.Pop3;

public sealed partial class Pop3Session
{
    // Session statistics for the logout line (Dovecot's top=, retr=, del=).
    private int _topCount, _retrCount, _deletedOnQuit;
    private long _topBytes, _retrBytes;

    /// <summary>Lines of a multi-line listing written between flushes (backpressure on large maildrops).</summary>
    private const int LinesPerFlush = 1024;

    private Maildrop Drop => _maildrop!;

    /// <summary>STAT (RFC 1939 §5): "+OK count size" over the messages not marked as deleted.</summary>
    private async Task<bool> StatAsync(string arg)
    {
        if (arg.Trim().Length > 0) return await BadCommandAsync("Syntax: STAT").ConfigureAwait(false);
        await OkAsync(string.Create(CultureInfo.InvariantCulture, $"{Drop.Count} {Drop.Size}")).ConfigureAwait(false);
        return true;
    }

    /// <summary>LIST [msg] (RFC 1939 §5).</summary>
    private async Task<bool> ListAsync(string arg)
    {
        if (arg.Trim().Length > 0)
        {
            var (ok, number) = await MessageArgumentAsync(arg, "LIST").ConfigureAwait(false);
            if (ok) await OkAsync(string.Create(CultureInfo.InvariantCulture, $"{number} {Drop[number].Size}")).ConfigureAwait(false);
            return number >= 0 || await BadCommandAsync("Syntax: LIST [message]").ConfigureAwait(false);
        }
        Write(string.Create(CultureInfo.InvariantCulture, $"+OK {Drop.Count} messages ({Drop.Size} octets)\r\n"));
        await WriteListingAsync(static (m, n) => string.Create(CultureInfo.InvariantCulture, $"{n} {m.Size}\r\n")).ConfigureAwait(false);
        return true;
    }

    /// <summary>UIDL [msg] (RFC 1939 §7): the Maildir unique names, stable across sessions.</summary>
    private async Task<bool> UidlAsync(string arg)
    {
        if (arg.Trim().Length > 0)
        {
            var (ok, number) = await MessageArgumentAsync(arg, "UIDL").ConfigureAwait(false);
            if (ok) await OkAsync(string.Create(CultureInfo.InvariantCulture, $"{number} {Drop[number].Uid}")).ConfigureAwait(false);
            return number >= 0 || await BadCommandAsync("Syntax: UIDL [message]").ConfigureAwait(false);
        }
        Write("+OK\r\n");
        await WriteListingAsync(static (m, n) => string.Create(CultureInfo.InvariantCulture, $"{n} {m.Uid}\r\n")).ConfigureAwait(false);
        return true;
    }

    private async Task WriteListingAsync(Func<MaildropMessage, int, string> format)
    {
        int lines = 0;
        for (int n = 1; n <= Drop.Total; n++)
        {
            if (Drop.IsDeleted(n)) continue;
            Write(format(Drop[n], n));
            if (++lines % LinesPerFlush == 0) await FlushAsync(_stopping).ConfigureAwait(false);
        }
        Write(".\r\n");
        await ReplyFlushAsync().ConfigureAwait(false);
    }

    /// <summary>RETR msg (RFC 1939 §5).</summary>
    private async Task<bool> RetrAsync(string arg)
    {
        var (ok, number) = await MessageArgumentAsync(arg, "RETR").ConfigureAwait(false);
        if (!ok) return number >= 0 || await BadCommandAsync("Syntax: RETR message").ConfigureAwait(false);
        var sent = await SendMessageAsync(number, -1).ConfigureAwait(false);
        if (sent >= 0) { _retrCount++; _retrBytes += sent; }
        return true;
    }

    /// <summary>TOP msg n (RFC 1939 §7): the header, the blank line and n lines of the body.</summary>
    private async Task<bool> TopAsync(string arg)
    {
        var parts = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !TryParseCount(parts[1], out var lines))
            return await BadCommandAsync("Syntax: TOP message lines").ConfigureAwait(false);
        var (ok, number) = await MessageArgumentAsync(parts[0], "TOP").ConfigureAwait(false);
        if (!ok) return number >= 0 || await BadCommandAsync("Syntax: TOP message lines").ConfigureAwait(false);
        var sent = await SendMessageAsync(number, lines).ConfigureAwait(false);
        if (sent >= 0) { _topCount++; _topBytes += sent; }
        return true;
    }

    /// <summary>DELE msg (RFC 1939 §5): marks; the file goes only in the UPDATE state.</summary>
    private async Task<bool> DeleAsync(string arg)
    {
        var (ok, number) = await MessageArgumentAsync(arg, "DELE").ConfigureAwait(false);
        if (!ok) return number >= 0 || await BadCommandAsync("Syntax: DELE message").ConfigureAwait(false);
        Drop.MarkDeleted(number);
        await OkAsync("Marked to be deleted.").ConfigureAwait(false);
        return true;
    }

    /// <summary>NOOP (RFC 1939 §5).</summary>
    private async Task<bool> NoopAsync(string arg)
    {
        if (arg.Trim().Length > 0) return await BadCommandAsync("Syntax: NOOP").ConfigureAwait(false);
        await OkAsync("").ConfigureAwait(false);
        return true;
    }

    /// <summary>RSET (RFC 1939 §5): unmarks every message marked as deleted.</summary>
    private async Task<bool> RsetAsync(string arg)
    {
        if (arg.Trim().Length > 0) return await BadCommandAsync("Syntax: RSET").ConfigureAwait(false);
        Drop.ResetDeletions();
        await OkAsync(string.Create(CultureInfo.InvariantCulture, $"{Drop.Count} messages ({Drop.Size} octets)")).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Parses a message number and answers "-ERR No such message" for one out of range or marked as
    /// deleted (RFC 1939 §5). Returns (true, n) for a usable message; (false, 0) when the error reply
    /// was sent; (false, -1) for a syntax error the caller answers.
    /// </summary>
    private async ValueTask<(bool Ok, int Number)> MessageArgumentAsync(string arg, string verb)
    {
        var text = arg.Trim();
        if (text.Length == 0 || text.Contains(' ')) return (false, -1);
        foreach (var c in text)
            if (!char.IsAsciiDigit(c)) return (false, -1);
        if (text.Length > 9 || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number < 1 || number > Drop.Total)
        {
            await ErrAsync("No such message.").ConfigureAwait(false);
            return (false, 0);
        }
        if (Drop.IsDeleted(number))
        {
            await ErrAsync("Message is deleted.").ConfigureAwait(false);
            return (false, 0);
        }
        return (true, number);
    }

    /// <summary>A non-negative line count; a count beyond what any message has means "all of it".</summary>
    private static bool TryParseCount(string text, out long count)
    {
        count = 0;
        if (text.Length == 0) return false;
        foreach (var c in text)
            if (!char.IsAsciiDigit(c)) return false;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out count)) count = long.MaxValue;
        return true;
    }

    /// <summary>Streams a message (RETR) or its top (TOP); returns the octets sent, or -1 when it could not be read.</summary>
    private async Task<long> SendMessageAsync(int number, long bodyLines)
    {
        var message = Drop[number];
        if (message.Size <= SmallMessage)
        {
            var small = SendSmallMessage(number, message, bodyLines);
            if (small != NotSmall)
            {
                if (small < 0) await ErrAsync(small == Gone ? "Message no longer exists." : "[SYS/TEMP] Unable to read the message.").ConfigureAwait(false);
                else await ReplyFlushAsync().ConfigureAwait(false);
                if (small >= 0 && bodyLines < 0) _readAheadNext = number + 1;
                return small < 0 ? -1 : small;
            }
        }
        FileStream? file;
        try { file = Drop.OpenMessage(message); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Warn($"pop3({_address}): cannot read {message.FileName}: {ex.Message}");
            await ErrAsync("[SYS/TEMP] Unable to read the message.").ConfigureAwait(false);
            return -1;
        }
        if (file is null)
        {
            await ErrAsync("Message no longer exists.").ConfigureAwait(false);
            return -1;
        }
        await using (file.ConfigureAwait(false))
        {
            Write(bodyLines < 0
                ? string.Create(CultureInfo.InvariantCulture, $"+OK {message.Size} octets\r\n")
                : "+OK\r\n");
            // A read error mid-message cannot be reported in band: the connection is dropped (IOException).
            var sent = await Pop3MessageWriter.WriteAsync(file, _conn.Output, bodyLines, _stopping).ConfigureAwait(false);
            await ReplyFlushAsync().ConfigureAwait(false);
            return sent;
        }
    }

    private const long SmallMessage = 256 * 1024;
    private const long NotSmall = long.MinValue;
    private const int Gone = -1, ReadError = -2;

    /// <summary>
    /// A small message is read with one synchronous read and written to the pipe whole: no thread hop for
    /// the file, one send for the reply. Returns the octets written, <see cref="Gone"/>, <see cref="ReadError"/>,
    /// or NotSmall when the file turns out larger than its listed size (the streaming path takes it).
    /// </summary>
    private long SendSmallMessage(int number, MaildropMessage message, long bodyLines)
    {
        Span<byte> status = stackalloc byte[40];
        int statusLength = bodyLines < 0
            ? Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"+OK {message.Size} octets\r\n"), status)
            : Encoding.ASCII.GetBytes("+OK\r\n", status);
        if (_readAhead is { } ahead && ahead.Number == number && bodyLines < 0)
        {
            // Read and converted while the client took in the previous message: copy and send.
            _readAhead = null;
            try
            {
                var span = _conn.Output.GetSpan(statusLength + ahead.Length);
                status[..statusLength].CopyTo(span);
                ahead.Wire.AsSpan(0, ahead.Length).CopyTo(span[statusLength..]);
                _conn.Output.Advance(statusLength + ahead.Length);
                return ahead.Length;
            }
            finally { System.Buffers.ArrayPool<byte>.Shared.Return(ahead.Wire); }
        }
        DropReadAhead();
        var read = ReadSmall(message, out var buffer);
        if (read < 0) return read;
        try { return Pop3MessageWriter.Write(status[..statusLength], buffer.AsSpan(0, (int)read), _conn.Output, bodyLines); }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer!); }
    }

    /// <summary>
    /// Reads a small message whole into a rented buffer (the caller returns it). Returns its length,
    /// <see cref="Gone"/>, <see cref="ReadError"/> or <see cref="NotSmall"/> (no buffer then).
    /// </summary>
    private long ReadSmall(MaildropMessage message, out byte[]? buffer)
    {
        buffer = null;
        var path = System.IO.Path.Combine(Drop.Path, "cur", message.FileName);
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (FileNotFoundException) { return Gone; }
        catch (DirectoryNotFoundException) { return Gone; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Warn($"pop3({_address}): cannot read {message.FileName}: {ex.Message}");
            return ReadError;
        }
        using (handle)
        {
            // The listed size (CRLF line endings) is never below the file's: one more byte tells a file
            // that grew past it, and a regular file reads short only at its end, so usually one pread.
            int capacity = (int)Math.Min(message.Size, SmallMessage) + 1;
            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(capacity);
            try
            {
                int length = 0, n;
                do
                {
                    int want = capacity - length;
                    n = RandomAccess.Read(handle, rented.AsSpan(length, want), length);
                    length += n;
                    if (n < want) break;
                }
                while (n > 0 && length < capacity);
                if (length >= capacity)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                    return NotSmall;
                }
                buffer = rented;
                return length;
            }
            catch (IOException ex)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                Warn($"pop3({_address}): cannot read {message.FileName}: {ex.Message}");
                return ReadError;
            }
        }
    }

    // Read-ahead: clients retrieve in order, so once a RETR has gone out the session reads the next
    // message, and converts it as RETR sends it, while the client takes in this one; a RETR of that
    // message then costs no file access and no conversion. One message (at most SmallMessage) per
    // session; dropped when the client asks for another.
    private sealed record ReadAheadEntry(int Number, byte[] Wire, int Length);
    private ReadAheadEntry? _readAhead;
    private int _readAheadNext;

    /// <summary>Called between commands when the client has nothing more buffered.</summary>
    private void ReadAhead()
    {
        int number = _readAheadNext;
        _readAheadNext = 0;
        DropReadAhead();
        if (_maildrop is null || number < 1 || number > Drop.Total || Drop.IsDeleted(number)) return;
        var message = Drop[number];
        if (message.Size > SmallMessage) return;
        var read = ReadSmall(message, out var buffer);
        if (read < 0) return;
        try
        {
            var wire = System.Buffers.ArrayPool<byte>.Shared.Rent(Pop3MessageWriter.MaxWholeLength((int)read));
            int length = Pop3MessageWriter.ConvertWhole(buffer.AsSpan(0, (int)read), wire);
            _readAhead = new ReadAheadEntry(number, wire, length);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer!); }
    }

    private void DropReadAhead()
    {
        if (_readAhead is { } ahead) System.Buffers.ArrayPool<byte>.Shared.Return(ahead.Wire);
        _readAhead = null;
    }
}
