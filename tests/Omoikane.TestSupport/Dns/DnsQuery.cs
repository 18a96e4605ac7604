namespace Omoikane.TestSupport.Dns;

/// <summary>A parsed query: header fields, the one question, and the EDNS payload size when an OPT was sent.</summary>
internal sealed record DnsQuery(ushort Id, ushort Flags, IReadOnlyList<string> Labels, ushort Type, ushort Class, int? EdnsPayloadSize)
{
    public int Opcode => (Flags >> 11) & 0xF;
    public bool RecursionDesired => (Flags & 0x0100) != 0;
    public string Name => string.Join('.', Labels);

    /// <summary>
    /// Parses a query message (RFC 1035 §4.1). Returns null for anything that is not a query with exactly
    /// one question; such input is dropped.
    /// </summary>
    public static DnsQuery? TryParse(ReadOnlySpan<byte> message)
    {
        if (message.Length < 12) return null;
        ushort id = Read16(message, 0);
        ushort flags = Read16(message, 2);
        if ((flags & 0x8000) != 0) return null; // QR set: a response, not a query
        if (Read16(message, 4) != 1) return null;
        int answers = Read16(message, 6), authorities = Read16(message, 8), additionals = Read16(message, 10);
        int pos = 12;
        var labels = ReadName(message, ref pos);
        if (labels is null || pos + 4 > message.Length) return null;
        ushort type = Read16(message, pos), cls = Read16(message, pos + 2);
        pos += 4;
        // Skip answer and authority records; look for an OPT pseudo-record among the additionals (RFC 6891 §6.1.2).
        int? payload = null;
        for (int i = 0; i < answers + authorities + additionals; i++)
        {
            if (ReadName(message, ref pos) is null || pos + 10 > message.Length) return null;
            ushort rrType = Read16(message, pos);
            ushort rrClass = Read16(message, pos + 2);
            int rdLength = Read16(message, pos + 8);
            pos += 10 + rdLength;
            if (pos > message.Length) return null;
            if (i >= answers + authorities && rrType == (ushort)DnsType.Opt) payload = rrClass;
        }
        return new DnsQuery(id, flags, labels, type, cls, payload);
    }

    /// <summary>Reads a possibly compressed name (RFC 1035 §4.1.4), at most 255 octets, no pointer loops.</summary>
    private static List<string>? ReadName(ReadOnlySpan<byte> message, ref int pos)
    {
        var labels = new List<string>();
        int p = pos, total = 1, jumps = 0;
        bool jumped = false;
        while (true)
        {
            if (p >= message.Length) return null;
            int len = message[p];
            if ((len & 0xC0) == 0xC0)
            {
                if (p + 1 >= message.Length || ++jumps > 64) return null;
                if (!jumped) pos = p + 2;
                jumped = true;
                p = ((len & 0x3F) << 8) | message[p + 1];
                continue;
            }
            if ((len & 0xC0) != 0) return null; // reserved label types
            p++;
            if (len == 0) break;
            if (p + len > message.Length || (total += len + 1) > 255) return null;
            labels.Add(System.Text.Encoding.Latin1.GetString(message.Slice(p, len)));
            p += len;
        }
        if (!jumped) pos = p;
        return labels;
    }

    private static ushort Read16(ReadOnlySpan<byte> s, int at) => (ushort)((s[at] << 8) | s[at + 1]);
}
