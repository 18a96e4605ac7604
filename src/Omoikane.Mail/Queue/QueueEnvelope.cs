using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Queue;

/// <summary>One envelope recipient: the address to deliver to and the address the client gave (orig_to).</summary>
public sealed record QueueRecipient(string Address, string? Original = null);

/// <summary>
/// The envelope of a queued message: the header of the queue file (text, one "name: value" per line,
/// ended by an empty line), followed by the message content with LF line endings.
/// </summary>
public sealed record QueueEnvelope
{
    public const string Magic = "OMOIKANE-QUEUE 1";
    /// <summary>
    /// Last line of a complete queue file as earlier versions wrote it (still read: such a file is delivered,
    /// unchecked); a file without an end record was never acknowledged and is quarantined.
    /// </summary>
    public const string EndMarker = "\n.OMOIKANE-END\n";
    /// <summary>Start of the end record written now: "\n.OMOIKANE-END size=N crc32c=xxxxxxxx\n", the content's length and CRC-32C.</summary>
    public const string EndRecordStart = "\n.OMOIKANE-END ";
    /// <summary>Longest end record.</summary>
    public const int EndRecordMaxLength = 64;

    /// <summary>Writes the end record for content of this length and CRC-32C; returns its length.</summary>
    public static int WriteEndRecord(Span<byte> destination, long size, uint crc)
    {
        System.Text.Unicode.Utf8.TryWrite(destination, CultureInfo.InvariantCulture,
            $"{EndRecordStart}size={size} crc32c={crc:x8}\n", out var written);
        return written;
    }

    /// <summary>
    /// Reads the end record at the end of <paramref name="tail"/> (the last bytes of a file): its length,
    /// and the content size and CRC-32C it records (null for an earlier version's bare end marker).
    /// </summary>
    public static bool TryParseEndRecord(ReadOnlySpan<byte> tail, out int recordLength, out (long Size, uint Crc)? check)
    {
        recordLength = 0; check = null;
        var legacy = EndMarker.Length;
        if (tail.Length >= legacy && tail[^legacy..].SequenceEqual("\n.OMOIKANE-END\n"u8)) { recordLength = legacy; return true; }
        var start = tail.LastIndexOf("\n.OMOIKANE-END "u8);
        if (start < 0 || tail[^1] != (byte)'\n') return false;
        var fields = Encoding.ASCII.GetString(tail[(start + EndRecordStart.Length)..^1]).Split(' ');
        if (fields.Length != 2 || !fields[0].StartsWith("size=", StringComparison.Ordinal) || !fields[1].StartsWith("crc32c=", StringComparison.Ordinal)
            || !long.TryParse(fields[0].AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || fields[1].Length != 15 || !uint.TryParse(fields[1].AsSpan(7), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc))
            return false;
        recordLength = tail.Length - start;
        check = (size, crc);
        return true;
    }

    public required string QueueId { get; init; }
    public required DateTimeOffset Arrival { get; init; }
    public required string Sender { get; init; }
    public required IReadOnlyList<QueueRecipient> Recipients { get; init; }
    /// <summary>"name[ip]" of the client, for logs and bounces.</summary>
    public string Client { get; init; } = "local";
    public string? Helo { get; init; }
    public string Protocol { get; init; } = "ESMTP";
    public string? SaslUsername { get; init; }
    public string? SaslMethod { get; init; }
    /// <summary>True for a bounce (DSN) we generated: bounce_queue_lifetime applies, never bounced again.</summary>
    public bool IsBounce { get; init; }
    /// <summary>BODY=8BITMIME / SMTPUTF8 as declared by the client.</summary>
    public string? Body { get; init; }
    public bool SmtpUtf8 { get; init; }
    public string? MessageId { get; init; }

    public string Serialize()
    {
        var sb = new StringBuilder(256);
        sb.Append(Magic).Append('\n');
        sb.Append("id: ").Append(QueueId).Append('\n');
        sb.Append("arrival: ").Append(Arrival.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("sender: ").Append(Escape(Sender)).Append('\n');
        sb.Append("client: ").Append(Escape(Client)).Append('\n');
        if (Helo is not null) sb.Append("helo: ").Append(Escape(Helo)).Append('\n');
        sb.Append("protocol: ").Append(Protocol).Append('\n');
        if (SaslUsername is not null) sb.Append("sasl_username: ").Append(Escape(SaslUsername)).Append('\n');
        if (SaslMethod is not null) sb.Append("sasl_method: ").Append(SaslMethod).Append('\n');
        if (IsBounce) sb.Append("bounce: yes\n");
        if (Body is not null) sb.Append("body: ").Append(Body).Append('\n');
        if (SmtpUtf8) sb.Append("smtputf8: yes\n");
        if (MessageId is not null) sb.Append("message_id: ").Append(Escape(MessageId)).Append('\n');
        foreach (var r in Recipients)
        {
            sb.Append("rcpt: ").Append(Escape(r.Address));
            if (r.Original is not null && r.Original != r.Address) sb.Append('\t').Append(Escape(r.Original));
            sb.Append('\n');
        }
        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>Parses the envelope from the start of a queue file; returns the offset of the content.</summary>
    public static QueueEnvelope? TryParse(ReadOnlySpan<byte> head, out int contentOffset, out string? error)
    {
        contentOffset = 0; error = null;
        var end = head.IndexOf("\n\n"u8);
        if (end < 0) { error = "envelope not terminated"; return null; }
        var text = Encoding.UTF8.GetString(head[..end]);
        contentOffset = end + 2;
        var lines = text.Split('\n');
        if (lines[0] != Magic) { error = "bad magic"; return null; }
        string? id = null, sender = null, client = "local", helo = null, protocol = "ESMTP", sasl = null, method = null, body = null, msgid = null;
        long arrival = 0; bool bounce = false, utf8 = false;
        var rcpts = new List<QueueRecipient>();
        for (int i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0) { error = $"bad envelope line {i + 1}"; return null; }
            var name = line[..colon]; var value = line[(colon + 2)..];
            switch (name)
            {
                case "id": id = value; break;
                case "arrival": long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out arrival); break;
                case "sender": sender = Unescape(value); break;
                case "client": client = Unescape(value); break;
                case "helo": helo = Unescape(value); break;
                case "protocol": protocol = value; break;
                case "sasl_username": sasl = Unescape(value); break;
                case "sasl_method": method = value; break;
                case "bounce": bounce = value == "yes"; break;
                case "body": body = value; break;
                case "smtputf8": utf8 = value == "yes"; break;
                case "message_id": msgid = Unescape(value); break;
                case "rcpt":
                    var tab = value.IndexOf('\t');
                    rcpts.Add(tab < 0 ? new QueueRecipient(Unescape(value)) : new QueueRecipient(Unescape(value[..tab]), Unescape(value[(tab + 1)..])));
                    break;
            }
        }
        if (id is null || sender is null || rcpts.Count == 0) { error = "envelope incomplete"; return null; }
        return new QueueEnvelope
        {
            QueueId = id, Arrival = DateTimeOffset.FromUnixTimeMilliseconds(arrival), Sender = sender, Recipients = rcpts,
            Client = client, Helo = helo, Protocol = protocol, SaslUsername = sasl, SaslMethod = method, IsBounce = bounce,
            Body = body, SmtpUtf8 = utf8, MessageId = msgid,
        };
    }

    // Envelope values are single-line: escape the few characters that would break the format.
    private static string Escape(string s) => s.IndexOfAny(['\\', '\n', '\r', '\t']) < 0 ? s
        : s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t");

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                i++;
                sb.Append(s[i] switch { 'n' => '\n', 'r' => '\r', 't' => '\t', _ => s[i] });
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
