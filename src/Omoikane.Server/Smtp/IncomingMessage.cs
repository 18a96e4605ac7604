using System.Buffers;
using System.Text;
using Omoikane.Mail.Authentication;
using Omoikane.Mail.Queue;

namespace Omoikane.Server.Smtp;

/// <summary>
/// Streams a message (LF line endings) into the spool: the header section is held back (up to a cap)
/// so that our Received header goes first and missing Date/Message-ID headers can be added at its end
/// (Postfix cleanup(8)); the body is streamed straight through. Enforces message_size_limit while streaming.
/// With a <see cref="MessageInspection"/> the message goes to its staging file first and into the queue
/// file only when complete, below the header fields the inspection puts on top (docs/authentication.md).
/// </summary>
public sealed class IncomingMessage
{
    private const int HeaderCap = 256 * 1024;
    private readonly SpoolWriter _writer;
    private readonly string _received;
    private readonly long _limit;
    private readonly Func<(bool Date, bool MessageId), string> _missingHeaders;
    private ArrayBufferWriter<byte>? _headers = new(4096);
    private readonly MessageInspection? _inspection;
    private byte _last1 = (byte)'\n';

    public IncomingMessage(SpoolWriter writer, string receivedHeader, long sizeLimit, Func<(bool Date, bool MessageId), string> missingHeaders,
        MessageInspection? inspection = null)
    {
        _writer = writer; _received = receivedHeader; _limit = sizeLimit; _missingHeaders = missingHeaders; _inspection = inspection;
    }

    /// <summary>Where content goes while it arrives: the staging file when inspected, else the queue file.</summary>
    private Stream Target => _inspection?.Staging ?? _writer.Content;

    /// <summary>The inspection's verdict, once <see cref="FinishAsync"/> has run.</summary>
    public AuthenticationVerdict? Verdict { get; private set; }

    public long Size { get; private set; }
    public bool SizeExceeded { get; private set; }
    public string? MessageId { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.IsEmpty) return;
        Size += data.Length;
        if (_limit > 0 && Size > _limit) { SizeExceeded = true; return; }
        if (SizeExceeded) return;
        if (_headers is null) { await Target.WriteAsync(data, ct).ConfigureAwait(false); return; }

        // Look for the empty line that ends the header section ("\n\n", or "\n" at the very start).
        var span = data.Span;
        int end = -1;
        for (int i = 0; i < span.Length; i++)
        {
            if (span[i] == (byte)'\n' && (_last1 == (byte)'\n')) { end = i; break; }
            _last1 = span[i];
        }
        if (end < 0)
        {
            _headers.Write(span);
            if (_headers.WrittenCount > HeaderCap) await FlushHeadersAsync(ct).ConfigureAwait(false);
            return;
        }
        // end points at the LF of the empty line; headers are everything before it.
        _headers.Write(span[..end]);
        await FlushHeadersAsync(ct).ConfigureAwait(false);
        await Target.WriteAsync(data[end..], ct).ConfigureAwait(false);
    }

    /// <summary>Writes Received, the held-back headers, and any missing headers.</summary>
    private async ValueTask FlushHeadersAsync(CancellationToken ct)
    {
        var h = _headers!;
        _headers = null;
        var text = h.WrittenSpan;
        bool hasDate = false, hasMsgId = false;
        // Scan header names at line starts (a header section never starts with white space).
        int pos = 0;
        while (pos < text.Length)
        {
            var lineEnd = text[pos..].IndexOf((byte)'\n');
            var line = lineEnd < 0 ? text[pos..] : text.Slice(pos, lineEnd);
            if (line.Length > 0 && line[0] != (byte)' ' && line[0] != (byte)'\t')
            {
                if (StartsWithName(line, "date:"u8)) hasDate = true;
                else if (StartsWithName(line, "message-id:"u8))
                {
                    hasMsgId = true;
                    MessageId = ExtractMessageId(text, pos);
                }
            }
            if (lineEnd < 0) break;
            pos += lineEnd + 1;
        }
        // With an inspection, Received is written at the end, below the inspection's header fields.
        if (_inspection is null) await _writer.Content.WriteAsync(Encoding.UTF8.GetBytes(_received), ct).ConfigureAwait(false);
        await Target.WriteAsync(h.WrittenMemory, ct).ConfigureAwait(false);
        var missing = _missingHeaders((hasDate, hasMsgId));
        if (missing.Length > 0)
        {
            if (h.WrittenCount > 0 && h.WrittenSpan[^1] != (byte)'\n') await Target.WriteAsync("\n"u8.ToArray(), ct).ConfigureAwait(false);
            await Target.WriteAsync(Encoding.UTF8.GetBytes(missing), ct).ConfigureAwait(false);
            var mid = missing.Split('\n').FirstOrDefault(l => l.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase));
            if (mid is not null) MessageId = mid[11..].Trim();
        }
    }

    private static bool StartsWithName(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name)
        => line.Length >= name.Length && Ascii.EqualsIgnoreCase(line[..name.Length], name);

    private static string ExtractMessageId(ReadOnlySpan<byte> text, int pos)
    {
        // Unfold the header: the value runs until a line that does not start with white space.
        var sb = new StringBuilder();
        var first = true;
        while (pos < text.Length)
        {
            var lineEnd = text[pos..].IndexOf((byte)'\n');
            var line = lineEnd < 0 ? text[pos..] : text.Slice(pos, lineEnd);
            if (!first && (line.Length == 0 || (line[0] != (byte)' ' && line[0] != (byte)'\t'))) break;
            var part = Encoding.UTF8.GetString(first ? line[11..] : line).Trim();
            sb.Append(part);
            first = false;
            if (lineEnd < 0) break;
            pos += lineEnd + 1;
        }
        var v = sb.ToString();
        return v.Length > 200 ? v[..200] : v;
    }

    /// <summary>Ends the message: a message without an empty line after its headers is all headers.</summary>
    /// <summary>
    /// With an inspection: runs it over the staged message, then (unless it rejects) writes its header fields,
    /// Received and the staged message into the queue file, leaving out forged Authentication-Results fields.
    /// </summary>
    public async ValueTask FinishAsync(CancellationToken ct)
    {
        if (_headers is not null && !SizeExceeded) await FlushHeadersAsync(ct).ConfigureAwait(false);
        if (_inspection is not { } inspection) return;
        using (inspection)
        {
            var staging = inspection.Staging;
            await staging.FlushAsync(ct).ConfigureAwait(false);
            var verdict = await inspection.Inspect(staging, ct).ConfigureAwait(false);
            Verdict = verdict;
            if (verdict.Reject is not null) return;
            var content = _writer.Content;
            if (verdict.Prepend.Length > 0) await content.WriteAsync(Encoding.UTF8.GetBytes(verdict.Prepend), ct).ConfigureAwait(false);
            await content.WriteAsync(Encoding.UTF8.GetBytes(_received), ct).ConfigureAwait(false);
            staging.Position = 0;
            if (verdict.StripForgedResults) await HeaderSectionFilter.CopyAsync(staging, content, inspection.DropField, ct).ConfigureAwait(false);
            else await staging.CopyToAsync(content, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Releases the staging file of a message that will not be finished.</summary>
    public void Abandon() => _inspection?.Dispose();
}
