namespace Omoikane.Server.Smtp;

/// <summary>
/// Decodes the DATA stream (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing, turns CRLF into LF (the
/// queue and Maildir store LF), and finds the end of data. Only CRLF "." CRLF ends the data: a bare LF
/// or bare CR never ends a line for this purpose, so "\n.\n", "\r.\r", "\n.\r\n" and "\r\n.\n" stay
/// inside the message (no SMTP smuggling). Bare LF and bare CR are flagged for smtpd_forbid_bare_newline.
/// </summary>
public sealed class DataDecoder
{
    private enum State { Bol, Mid, Cr, Dot, DotCr, Done }
    private State _state = State.Bol;

    public bool SawBareLf { get; private set; }
    public bool SawBareCr { get; private set; }
    public bool IsDone => _state == State.Done;

    /// <summary>
    /// Decodes input into output (which must hold input.Length + 2 bytes). Returns the number of input
    /// bytes consumed (less than input.Length only when the end of data was found) and the bytes written.
    /// lineEnds counts CRLFs seen (for the per-record deadline).
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
                    o = MidByte(c, output, o);
                    break;
                case State.Mid:
                    o = MidByte(c, output, o);
                    break;
                case State.Cr:
                    if (c == (byte)'\n') { output[o++] = (byte)'\n'; _state = State.Bol; lineEnds++; break; }
                    SawBareCr = true;
                    output[o++] = (byte)'\r';
                    o = MidByte(c, output, o);
                    break;
                case State.Dot:
                    if (c == (byte)'\r') { _state = State.DotCr; break; }
                    if (c == (byte)'\n') { output[o++] = (byte)'.'; o = MidByte(c, output, o); break; }
                    // A leading dot followed by other characters was added by the client: drop it.
                    o = MidByte(c, output, o);
                    break;
                case State.DotCr:
                    if (c == (byte)'\n') { _state = State.Done; lineEnds++; break; }
                    SawBareCr = true;
                    output[o++] = (byte)'.';
                    output[o++] = (byte)'\r';
                    o = MidByte(c, output, o);
                    break;
            }
        }
        written = o;
        return i;
    }

    private int MidByte(byte c, Span<byte> output, int o)
    {
        if (c == (byte)'\r') { _state = State.Cr; return o; }
        _state = State.Mid;
        if (c == (byte)'\n') SawBareLf = true; // stays Mid: a bare LF never starts a new line
        output[o++] = c;
        return o;
    }
}
