namespace Omoikane.Mail.Dns;

/// <summary>Syntax of domain names as queried (RFC 1035 §2.3.4 size limits, RFC 2181 §11).</summary>
public static class DnsName
{
    /// <summary>
    /// Lower-cases, trims one trailing dot and checks the limits: at most 253 octets in text form,
    /// labels of 1 to 63 octets, printable ASCII without spaces. Any octet is legal in DNS (RFC 2181 §11),
    /// but a name a mail server meets in HELO or an address never needs more.
    /// </summary>
    public static bool TryNormalize(string name, out string normalized)
    {
        normalized = "";
        var s = name.Trim();
        if (s.EndsWith('.')) s = s[..^1];
        if (s.Length is 0 or > 253) return false;
        int labelLength = 0;
        foreach (var c in s)
        {
            if (c == '.')
            {
                if (labelLength == 0) return false;
                labelLength = 0;
                continue;
            }
            if (c <= ' ' || c >= 0x7F) return false;
            if (++labelLength > 63) return false;
        }
        if (labelLength == 0) return false;
        normalized = s.ToLowerInvariant();
        return true;
    }
}
