using System.Text;
using MimeKit;

namespace Omoikane.Mail.Pickup;

/// <summary>One header field: its name, its text with continuation lines, and where it lies in the content.</summary>
public sealed record HeaderField(string Name, string Raw, int Start, int Length);

/// <summary>
/// The header section of a locally submitted message (LF line endings): its fields as written, where the
/// body starts, and the recipients sendmail -t takes from it.
/// </summary>
public sealed class MessageHeader
{
    /// <summary>Each field with its continuation lines, as written (ends with LF).</summary>
    public IReadOnlyList<HeaderField> Fields { get; }
    /// <summary>Where the body starts (after the empty line, when there is one).</summary>
    public int BodyStart { get; }

    private MessageHeader(List<HeaderField> fields, int bodyStart) { Fields = fields; BodyStart = bodyStart; }

    /// <summary>Reads fields up to the empty line, or up to the first line that is neither a field nor a continuation (then the body starts there).</summary>
    public static MessageHeader Parse(ReadOnlySpan<byte> content)
    {
        var fields = new List<HeaderField>();
        int pos = 0;
        while (pos < content.Length)
        {
            var nl = content[pos..].IndexOf((byte)'\n');
            var end = nl < 0 ? content.Length : pos + nl + 1;
            var line = content[pos..end];
            if (line.Length == 0 || line[0] == (byte)'\n') { pos = end; break; }
            if ((line[0] == (byte)' ' || line[0] == (byte)'\t') && fields.Count > 0)
            {
                var f = fields[^1];
                fields[^1] = f with { Raw = f.Raw + Encoding.UTF8.GetString(line), Length = end - f.Start };
                pos = end;
                continue;
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsFieldName(line[..colon])) break;
            var raw = Encoding.UTF8.GetString(line);
            if (nl < 0) raw += "\n";
            fields.Add(new HeaderField(raw[..colon].TrimEnd(), raw, pos, end - pos));
            pos = end;
        }
        return new MessageHeader(fields, pos);
    }

    private static bool IsFieldName(ReadOnlySpan<byte> name)
    {
        foreach (var b in name) if (b < 33 || b > 126) return false;
        return true;
    }

    public bool Has(string name) => Fields.Any(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The unfolded value of a field.</summary>
    public static string Value(string raw)
    {
        var colon = raw.IndexOf(':');
        return raw[(colon + 1)..].Replace("\r", "").Replace("\n", "").Trim();
    }

    /// <summary>
    /// sendmail -t: the addresses in To, Cc and Bcc, or in Resent-To, Resent-Cc and Resent-Bcc when the message
    /// has Resent- fields (a message being re-sent goes to the new recipients only).
    /// </summary>
    public List<string> Recipients()
    {
        var resent = Fields.Any(f => f.Name.StartsWith("Resent-", StringComparison.OrdinalIgnoreCase));
        string[] names = resent ? ["Resent-To", "Resent-Cc", "Resent-Bcc"] : ["To", "Cc", "Bcc"];
        var result = new List<string>();
        foreach (var (name, raw, _, _) in Fields)
        {
            if (!names.Any(n => n.Equals(name, StringComparison.OrdinalIgnoreCase))) continue;
            if (!InternetAddressList.TryParse(ParserOptions.Default, Value(raw), out var list)) continue;
            foreach (var m in list.Mailboxes)
                if (m.Address.Length > 0 && !result.Contains(m.Address, StringComparer.OrdinalIgnoreCase)) result.Add(m.Address);
        }
        return result;
    }
}
