namespace Omoikane.Server.Smtp;

/// <summary>
/// Decodes the DATA stream (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing, turns line ends into LF (the
/// queue and Maildir store LF), and finds the end of data, as Postfix 3.9's smtpd does with
/// smtpd_forbid_bare_newline = normalize:
/// <list type="bullet">
/// <item>A line ends at CRLF or at a bare LF (taken as if it were CRLF); a bare CR is never a line end and
/// stays in the content.</item>
/// <item>Only CRLF "." CRLF ends the data: the "." line must end in CRLF and so must the line before it. A
/// lone "." line that ends in a bare LF, or follows a line that did, is dropped and the data goes on, so
/// "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r" and the like never end it (no SMTP smuggling).</item>
/// <item>A leading dot is removed from every other line that starts with one.</item>
/// </list>
/// Bare LF and bare CR are flagged for smtpd_forbid_bare_newline = reject.
/// </summary>
public sealed class DataDecoder
{
    private enum State { Bol, Mid, Cr, Dot, DotCr, Done }
    private State _state = State.Bol;
    private bool _lastEndBare;   // the line before the current one ended in a bare LF

    public bool SawBareLf { get; private set; }
    public bool SawBareCr { get; private set; }
    public bool IsDone => _state == State.Done;

    /// <summary>
    /// Decodes input into output (which must hold input.Length + 2 bytes). Returns the number of input
    /// bytes consumed (less than input.Length only when the end of data was found) and the bytes written.
    /// lineEnds counts the lines completed (for the per-record deadline).
    /// </summary>
    public int Decode(ReadOnlySpan<byte> input, Span<byte> output, out int written, out int lineEnds)
    {
        int o = 0, i = 0;
        lineEnds = 0;
        while (i < input.Length && _state != State.Done)
        {
            if (_state == State.Mid)
            {
                // Fast path: copy the run up to the next CR or LF.
                var rest = input[i..];
                var k = rest.IndexOfAny((byte)'\r', (byte)'\n');
                if (k < 0) { rest.CopyTo(output[o..]); o += rest.Length; i = input.Length; break; }
                rest[..k].CopyTo(output[o..]); o += k; i += k;
            }
            byte c = input[i++];
            switch (_state)
            {
                case State.Bol:
                    if (c == (byte)'.') { _state = State.Dot; break; }
                    o = MidByte(c, output, o, ref lineEnds);
                    break;
                case State.Mid:
                    o = MidByte(c, output, o, ref lineEnds);
                    break;
                case State.Cr:
                    if (c == (byte)'\n') { output[o++] = (byte)'\n'; EndLine(bare: false, ref lineEnds); break; }
                    SawBareCr = true;
                    output[o++] = (byte)'\r';
                    o = MidByte(c, output, o, ref lineEnds);
                    break;
                case State.Dot:
                    if (c == (byte)'\r') { _state = State.DotCr; break; }
                    if (c == (byte)'\n')
                    {
                        // "." ended by a bare LF: neither an end of data nor content (Postfix drops it).
                        SawBareLf = true;
                        EndLine(bare: true, ref lineEnds);
                        break;
                    }
                    // A leading dot followed by other characters was added by the client: drop it.
                    o = MidByte(c, output, o, ref lineEnds);
                    break;
                case State.DotCr:
                    if (c == (byte)'\n')
                    {
                        lineEnds++;
                        if (!_lastEndBare) { _state = State.Done; break; }
                        // "." CRLF right after a bare-LF line: not an end of data; dropped as Postfix does.
                        _lastEndBare = false;
                        _state = State.Bol;
                        break;
                    }
                    // ".<CR>x": the stuffed dot goes, the bare CR stays.
                    SawBareCr = true;
                    output[o++] = (byte)'\r';
                    o = MidByte(c, output, o, ref lineEnds);
                    break;
            }
        }
        written = o;
        return i;
    }

    private void EndLine(bool bare, ref int lineEnds)
    {
        _state = State.Bol;
        _lastEndBare = bare;
        lineEnds++;
    }

    private int MidByte(byte c, Span<byte> output, int o, ref int lineEnds)
    {
        if (c == (byte)'\r') { _state = State.Cr; return o; }
        output[o++] = c;
        if (c == (byte)'\n')
        {
            SawBareLf = true;   // a bare LF ends the line as CRLF would, but never the data
            EndLine(bare: true, ref lineEnds);
            return o;
        }
        _state = State.Mid;
        return o;
    }
}
