using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Omoikane.Server.Transport;

public enum LineStatus { Ok, TooLong, BareLf, Eof, Timeout }

/// <summary>One protocol line: its text (without the line ending) or why there is none.</summary>
public readonly record struct Line(LineStatus Status, string Text, int Length);

/// <summary>
/// Reads CRLF-terminated lines from a PipeReader for the line-oriented protocols (SMTP, POP3), with a
/// length cap applied before any parsing, a per-line deadline (a slow client cannot hold a session by
/// trickling bytes: Postfix smtpd_per_record_deadline), and pipelining-aware flushing: replies are
/// flushed only when no complete command is waiting (RFC 2920 §3.1).
/// </summary>
public sealed class LineReader
{
    private readonly Func<PipeReader> _input;
    private readonly Func<CancellationToken, ValueTask> _flush;
    private readonly CancellationTokenSource _deadline = new();
    private CancellationToken _outer;

    public LineReader(Func<PipeReader> input, Func<CancellationToken, ValueTask> flush, CancellationToken outer)
    {
        _input = input; _flush = flush; _outer = outer;
        // The session's stop also ends the current record's wait: one registration for the whole session
        // instead of a linked token per line.
        _outer.Register(static d => { try { ((CancellationTokenSource)d!).Cancel(); } catch (ObjectDisposedException) { } }, _deadline);
    }

    /// <summary>True when a complete line is already buffered (the client pipelined commands).</summary>
    public bool HasBufferedLine
    {
        get
        {
            var input = _input();
            if (!input.TryRead(out var r)) return false;
            bool has = r.Buffer.PositionOf((byte)'\n') is not null;
            input.AdvanceTo(r.Buffer.Start, r.Buffer.Start);
            return has;
        }
    }

    /// <summary>Bytes buffered but not yet consumed.</summary>
    public long BufferedBytes
    {
        get
        {
            var input = _input();
            if (!input.TryRead(out var r)) return 0;
            var n = r.Buffer.Length;
            input.AdvanceTo(r.Buffer.Start, r.Buffer.Start);
            return n;
        }
    }

    /// <summary>A token that fires when the current record's deadline passes (or the session stops).</summary>
    public CancellationToken StartDeadline(TimeSpan timeout)
    {
        _outer.ThrowIfCancellationRequested();
        if (!_deadline.TryReset())
        {
            // A fired source cannot be reset; sessions end after a timeout, so this is rare.
            throw new TimeoutException();
        }
        _deadline.CancelAfter(timeout);
        return _deadline.Token;
    }

    /// <summary>
    /// Reads one line. forbidBareLf: a line ended by LF without CR is reported as BareLf (never taken as a
    /// line end). A line longer than maxLength is consumed up to its end and reported as TooLong.
    /// </summary>
    public async ValueTask<Line> ReadLineAsync(int maxLength, TimeSpan timeout, bool forbidBareLf)
    {
        var ct = StartDeadline(timeout);
        var input = _input();
        bool overflow = false;
        long skipped = 0;
        bool needMore = false;
        while (true)
        {
            ReadResult result;
            if (needMore || !input.TryRead(out result))
            {
                await _flush(ct).ConfigureAwait(false);
                try { result = await input.ReadAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (_deadline.IsCancellationRequested && !_outer.IsCancellationRequested)
                {
                    return new Line(LineStatus.Timeout, "", 0);
                }
            }
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is null)
            {
                if (buffer.Length > maxLength)
                {
                    // Cap before parsing: drop what we have and keep discarding until the line ends.
                    overflow = true;
                    skipped += buffer.Length;
                    input.AdvanceTo(buffer.End);
                }
                else
                    input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled) return new Line(LineStatus.Eof, "", 0);
                needMore = true;
                continue;
            }
            var lineSeq = buffer.Slice(0, lf.Value);
            var next = buffer.GetPosition(1, lf.Value);
            var len = lineSeq.Length;
            bool cr = len > 0 && EndsWithCr(lineSeq);
            if (overflow || len > maxLength)
            {
                input.AdvanceTo(next);
                return new Line(LineStatus.TooLong, "", (int)Math.Min(int.MaxValue, len + skipped));
            }
            if (!cr && forbidBareLf)
            {
                input.AdvanceTo(next);
                return new Line(LineStatus.BareLf, "", (int)len);
            }
            var content = cr ? lineSeq.Slice(0, len - 1) : lineSeq;
            var text = Decode(content);
            input.AdvanceTo(next);
            return new Line(LineStatus.Ok, text, (int)len);
        }
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> seq)
    {
        var last = seq.Slice(seq.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }

    /// <summary>UTF-8 (SMTPUTF8); invalid bytes become U+FFFD, which later syntax checks reject.</summary>
    private static string Decode(ReadOnlySequence<byte> seq)
        => seq.IsSingleSegment ? Encoding.UTF8.GetString(seq.FirstSpan) : Encoding.UTF8.GetString(seq.ToArray());
}
