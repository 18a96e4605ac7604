using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Omoikane.Mail.Queue;
using Omoikane.Mail.Smtp;

namespace Omoikane.Server.Smtp;

/// <summary>BDAT (RFC 3030 CHUNKING): the message arrives in counted chunks, never scanned for an end of data.</summary>
public sealed partial class SmtpSession
{
    private SpoolWriter? _chunkWriter;
    private IncomingMessage? _chunkMessage;
    private bool _chunkFailed;
    private bool _chunkPendingCr;
    private bool _chunkSawBareLf;
    private bool _chunkSawBareCr;

    private void ResetChunking()
    {
        _chunkWriter?.Abort();
        _chunkWriter = null;
        _chunkMessage = null;
        _chunkFailed = false;
        _chunkPendingCr = false;
        _chunkSawBareLf = false;
        _chunkSawBareCr = false;
    }

    /// <summary>BDAT (RFC 3030): "BDAT size [LAST]"; exactly size octets follow, whatever the state.</summary>
    private async Task<bool> BdatAsync(string arg)
    {
        var parts = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            // Without a size we cannot find the next command: end the session (RFC 3030 §3).
            _counters.Count("bdat", false);
            await ReplyAsync(501, "5.5.4", "Syntax: BDAT count [LAST]").ConfigureAwait(false);
            await FlushAsync(_stopping).ConfigureAwait(false);
            ResetTransaction();
            return false;
        }
        bool last = parts.Length == 2;
        SmtpReply? error = null;
        if (_opt.TlsRequired && !_conn.IsTls) error = MustStartTls;
        else if (_sender is null) error = new SmtpReply(503, "5.5.1", "Error: need RCPT command");
        else if (_recipients.Count == 0) error = new SmtpReply(554, "5.5.1", "Error: no valid recipients");
        else if (_chunkFailed) error = new SmtpReply(503, "5.5.1", "Error: previous BDAT failed");
        if (error is null && _chunkWriter is null)
        {
            var answer = await _policy.CheckDataAsync(PolicyInput(), _stopping).ConfigureAwait(false);
            if (!answer.Accepted) { LogReject("BDAT", answer.Reply, null); error = answer.Reply; }
            else
            {
                try { _chunkWriter = CreateSpoolWriter(); _chunkMessage = NewIncomingMessage(_chunkWriter); }
                catch (IOException ex) { error = StorageReply(ex); }
            }
        }
        // Read (and convert CRLF to LF) exactly `size` octets. As for DATA, the deadline is per record
        // (smtpd_per_record_deadline): renewed by every completed line or line_length_limit octets.
        var ct = _reader.StartDeadline(_opt.Timeout);
        long sinceRecord = 0;
        long remaining = size;
        byte[] outBuf = ArrayPool<byte>.Shared.Rent(64 * 1024 + 8);
        IOException? writeError = null;
        try
        {
            while (remaining > 0)
            {
                ReadResult result;
                try { result = await _conn.Input.ReadAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    Log($"timeout after BDAT from {_clientLog}");
                    await ReplyAsync(421, "4.4.2", $"{_opt.MyHostname} Error: timeout exceeded").ConfigureAwait(false);
                    ResetTransaction();
                    return false;
                }
                var buffer = result.Buffer;
                var take = buffer.Slice(0, Math.Min(buffer.Length, remaining));
                if (error is null && writeError is null)
                {
                    foreach (var seg in take)
                    {
                        for (int off = 0; off < seg.Length; off += 64 * 1024)
                        {
                            var n = CrLfToLf(seg.Span.Slice(off, Math.Min(64 * 1024, seg.Length - off)), outBuf);
                            try { await _chunkMessage!.WriteAsync(outBuf.AsMemory(0, n), _stopping).ConfigureAwait(false); }
                            catch (IOException ex) { writeError = ex; break; }
                        }
                    }
                }
                remaining -= take.Length;
                var lastLf = LastLineEnd(take);
                sinceRecord = lastLf >= 0 ? take.Length - lastLf - 1 : sinceRecord + take.Length;
                _conn.Input.AdvanceTo(take.End);
                if (remaining > 0 && result.IsCompleted)
                {
                    Log($"lost connection after BDAT from {_clientLog}");
                    ResetTransaction();
                    return false;
                }
                if (remaining > 0 && (lastLf >= 0 || sinceRecord >= SmtpdOptions.MaxCommandLine))
                {
                    sinceRecord %= SmtpdOptions.MaxCommandLine;
                    ct = _reader.StartDeadline(_opt.Timeout);
                }
            }
        }
        finally { ArrayPool<byte>.Shared.Return(outBuf); }
        if (last && _chunkPendingCr) _chunkSawBareCr = true;
        if (error is null && RejectBareNewline && (_chunkSawBareLf || _chunkSawBareCr))
        {
            // smtpd_forbid_bare_newline = reject applies to BDAT content as to DATA: refused, disconnected.
            var bareWriter = _chunkWriter!;
            var bareMessage = _chunkMessage!;
            _chunkWriter = null; _chunkMessage = null;
            return await FinishMessageAsync("bdat", bareWriter, bareMessage, _chunkSawBareLf, _chunkSawBareCr, writeError).ConfigureAwait(false);
        }
        if (error is { } e)
        {
            _counters.Count("bdat", false);
            _chunkFailed = _chunkWriter is not null;
            if (last) ResetTransaction();
            return await ErrorReplyAsync(e).ConfigureAwait(false);
        }
        if (writeError is not null && !last)
        {
            _chunkFailed = true;
            _counters.Count("bdat", false);
            return await ErrorReplyAsync(StorageReply(writeError)).ConfigureAwait(false);
        }
        if (!last)
        {
            _counters.Count("bdat", true);
            await ReplyAsync(250, "2.0.0", $"Ok: {size} bytes").ConfigureAwait(false);
            return true;
        }
        if (_chunkPendingCr) { await _chunkMessage!.WriteAsync("\r"u8.ToArray(), _stopping).ConfigureAwait(false); _chunkPendingCr = false; }
        var writer = _chunkWriter!;
        var message = _chunkMessage!;
        _chunkWriter = null; _chunkMessage = null;
        return await FinishMessageAsync("bdat", writer, message, _chunkSawBareLf, _chunkSawBareCr, writeError).ConfigureAwait(false);
    }

    /// <summary>Offset of the last LF in the sequence, or -1.</summary>
    private static long LastLineEnd(ReadOnlySequence<byte> seq)
    {
        long offset = 0, last = -1;
        foreach (var segment in seq)
        {
            var i = segment.Span.LastIndexOf((byte)'\n');
            if (i >= 0) last = offset + i;
            offset += segment.Length;
        }
        return last;
    }

    /// <summary>
    /// BDAT content is not dot-stuffed; CRLF becomes LF (a CR split across chunks is held). A bare LF is kept as
    /// a line end and a bare CR as content, as in DATA; both are noted for smtpd_forbid_bare_newline = reject.
    /// </summary>
    private int CrLfToLf(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int o = 0;
        int i = 0;
        if (_chunkPendingCr)
        {
            _chunkPendingCr = false;
            if (input.Length > 0 && input[0] == (byte)'\n') { output[o++] = (byte)'\n'; i = 1; }
            else { output[o++] = (byte)'\r'; _chunkSawBareCr = true; }
        }
        for (; i < input.Length; i++)
        {
            var c = input[i];
            if (c == (byte)'\r')
            {
                if (i + 1 < input.Length)
                {
                    if (input[i + 1] == (byte)'\n') { output[o++] = (byte)'\n'; i++; }
                    else { output[o++] = c; _chunkSawBareCr = true; }
                }
                else _chunkPendingCr = true;
                continue;
            }
            if (c == (byte)'\n') _chunkSawBareLf = true;
            output[o++] = c;
        }
        return o;
    }
}
