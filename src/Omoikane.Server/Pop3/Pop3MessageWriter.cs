using System.Buffers;
using System.IO.Pipelines;

namespace Omoikane.Server.Pop3;

/// <summary>
/// Streams a stored message (LF line endings) to a POP3 client as a multi-line response body
/// (RFC 1939 §3): bare LF becomes CRLF, a line starting with "." gets another ".", and the response
/// ends with ".\r\n". The file is read in chunks and every chunk is flushed to the pipe before the next
/// is read, so the client's pace holds the reader back (backpressure) and no message is held in memory.
/// </summary>
public static class Pop3MessageWriter
{
    private const int ChunkSize = 64 * 1024;
    private static ReadOnlySpan<byte> Terminator => ".\r\n"u8;

    /// <summary>
    /// Writes the message and the terminating line; returns the octets written. With
    /// <paramref name="bodyLines"/> ≥ 0 only the header, the blank line and that many body lines are
    /// written (TOP, RFC 1939 §7); with -1 the whole message (RETR).
    /// </summary>
    public static async ValueTask<long> WriteAsync(Stream source, PipeWriter output, long bodyLines, CancellationToken ct)
    {
        var state = new State { AtLineStart = true, InHeader = true, BodyLimit = bodyLines };
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (!state.Done)
            {
                int n = await source.ReadAsync(buffer.AsMemory(0, ChunkSize), ct).ConfigureAwait(false);
                if (n == 0) break;
                Convert(buffer.AsSpan(0, n), output, ref state);
                var flush = await output.FlushAsync(ct).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled) throw new IOException("connection closed while sending a message");
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
        // A last line without a line ending gets one, so that the terminator stands on its own line.
        if (!state.AtLineStart && !state.Done) state.Written += Put(output, state.PrevCr ? "\n"u8 : "\r\n"u8);
        state.Written += Put(output, Terminator);
        return state.Written;
    }

    /// <summary>
    /// Writes a message held in memory (small messages: one read of the file) after its status line,
    /// and the terminating line, without flushing: the reply goes out with the next flush, in one send.
    /// Returns the octets of the message as sent (status line excluded, terminator included).
    /// </summary>
    public static long Write(ReadOnlySpan<byte> status, ReadOnlySpan<byte> content, PipeWriter output, long bodyLines)
    {
        if (bodyLines < 0) return WriteWhole(status, content, output);
        output.Write(status);
        var state = new State { AtLineStart = true, InHeader = true, BodyLimit = bodyLines };
        Convert(content, output, ref state);
        if (!state.AtLineStart && !state.Done) state.Written += Put(output, state.PrevCr ? "\n"u8 : "\r\n"u8);
        state.Written += Put(output, Terminator);
        return state.Written;
    }

    /// <summary>RETR of a message in memory: the status line and the converted message in one buffer of the pipe (one send).</summary>
    private static long WriteWhole(ReadOnlySpan<byte> status, ReadOnlySpan<byte> content, PipeWriter output)
    {
        var span = output.GetSpan(status.Length + MaxWholeLength(content.Length));
        status.CopyTo(span);
        int n = ConvertWhole(content, span[status.Length..]);
        output.Advance(status.Length + n);
        return n;
    }

    /// <summary>Room <see cref="ConvertWhole"/> may need: every line "." + LF becomes ".." + CRLF, plus ".\r\n".</summary>
    public static int MaxWholeLength(int contentLength) => contentLength * 2 + 5;

    /// <summary>
    /// A whole message as RETR sends it (CRLF line endings, leading dots doubled, a last line ended, the
    /// terminating line), into <paramref name="dest"/> of at least <see cref="MaxWholeLength"/>; returns its length.
    /// </summary>
    public static int ConvertWhole(ReadOnlySpan<byte> content, Span<byte> dest)
    {
        int o = 0, i = 0;
        while (i < content.Length)
        {
            var rest = content[i..];
            if (rest[0] == (byte)'.') dest[o++] = (byte)'.';
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                rest.CopyTo(dest[o..]);
                o += rest.Length;
                dest[o++] = (byte)'\r';
                dest[o++] = (byte)'\n';
                break;
            }
            var line = rest[..lf];
            line.CopyTo(dest[o..]);
            o += line.Length;
            if (line.Length == 0 || line[^1] != (byte)'\r') dest[o++] = (byte)'\r';
            dest[o++] = (byte)'\n';
            i += lf + 1;
        }
        dest[o++] = (byte)'.';
        dest[o++] = (byte)'\r';
        dest[o++] = (byte)'\n';
        return o;
    }

    private struct State
    {
        public bool AtLineStart;
        public bool PrevCr;
        public bool InHeader;
        public bool Done;
        public long LineLength;
        public long BodyLimit;
        public long BodyCount;
        public long Written;
    }

    /// <summary>Converts one chunk; the state carries line starts and a pending CR across chunk boundaries.</summary>
    private static void Convert(ReadOnlySpan<byte> data, PipeWriter output, ref State s)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (s.AtLineStart)
            {
                if (!s.InHeader && s.BodyLimit >= 0 && s.BodyCount >= s.BodyLimit) { s.Done = true; return; }
                // RFC 1939 §3: byte-stuff a line that starts with the termination octet.
                if (data[i] == (byte)'.') s.Written += Put(output, "."u8);
                s.AtLineStart = false;
            }
            var rest = data[i..];
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                s.Written += Put(output, rest);
                s.LineLength += rest.Length;
                s.PrevCr = rest[^1] == (byte)'\r';
                return;
            }
            var segment = rest[..lf];
            s.Written += Put(output, segment);
            bool cr = segment.Length > 0 ? segment[^1] == (byte)'\r' : s.PrevCr;
            long content = s.LineLength + segment.Length - (cr ? 1 : 0);
            s.Written += Put(output, cr ? "\n"u8 : "\r\n"u8);
            if (s.InHeader) { if (content == 0) s.InHeader = false; }
            else s.BodyCount++;
            s.LineLength = 0;
            s.PrevCr = false;
            s.AtLineStart = true;
            i += lf + 1;
        }
    }

    private static int Put(PipeWriter output, ReadOnlySpan<byte> bytes)
    {
        output.Write(bytes);
        return bytes.Length;
    }
}
