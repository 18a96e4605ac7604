using System.Buffers;
using System.Text;

namespace Omoikane.Mail.Authentication;

/// <summary>
/// Copies a message (LF line ends) from one stream to another, leaving out the header fields a predicate
/// picks; the body is copied untouched. Used to drop forged Authentication-Results fields (RFC 8601 §5).
/// </summary>
public static class HeaderSectionFilter
{
    /// <param name="drop">Called with the field name and its unfolded value.</param>
    public static async ValueTask CopyAsync(Stream source, Stream destination, Func<string, string, bool> drop, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var field = new ArrayBufferWriter<byte>(1024);
        try
        {
            int start = 0, end = 0;
            bool inHeaders = true, atLineStart = true;
            while (inHeaders)
            {
                if (start == end)
                {
                    end = await source.ReadAsync(buffer.AsMemory(0, buffer.Length), ct).ConfigureAwait(false);
                    start = 0;
                    if (end == 0) break;
                }
                if (atLineStart)
                {
                    // A line not starting with white space ends the field before it.
                    if (buffer[start] is not ((byte)' ' or (byte)'\t'))
                    {
                        await EmitAsync(field, destination, drop, ct).ConfigureAwait(false);
                        if (buffer[start] == (byte)'\n')
                        {
                            // The empty line: the rest is the body.
                            await destination.WriteAsync(buffer.AsMemory(start, end - start), ct).ConfigureAwait(false);
                            start = end;
                            inHeaders = false;
                            break;
                        }
                    }
                }
                var lf = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                var take = lf < 0 ? end - start : lf + 1;
                field.Write(buffer.AsSpan(start, take));
                start += take;
                atLineStart = lf >= 0;
            }
            await EmitAsync(field, destination, drop, ct).ConfigureAwait(false);
            if (!inHeaders) await source.CopyToAsync(destination, ct).ConfigureAwait(false);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private static async ValueTask EmitAsync(ArrayBufferWriter<byte> field, Stream destination, Func<string, string, bool> drop, CancellationToken ct)
    {
        if (field.WrittenCount == 0) return;
        var text = Encoding.Latin1.GetString(field.WrittenSpan);
        var colon = text.IndexOf(':');
        var keep = colon <= 0 || !drop(text[..colon].TrimEnd(), text[(colon + 1)..].Replace("\n", "").Trim());
        if (keep) await destination.WriteAsync(field.WrittenMemory, ct).ConfigureAwait(false);
        field.Clear();
    }
}
