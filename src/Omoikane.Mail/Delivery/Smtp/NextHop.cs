namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>Which delivery a transport_maps entry, relayhost, or the recipient domain selects (Postfix transport(5)).</summary>
public enum NextHopKind
{
    /// <summary>SMTP to Host: with MX lookup unless the host was written "[host]" (UseMx false).</summary>
    Smtp,
    /// <summary>"error:[d.d.d ]text" (Postfix error(8)): every recipient bounces with the text and status (default 5.0.0).</summary>
    Error,
    /// <summary>"retry:[d.d.d ]text" (Postfix error(8) as "retry"): every recipient is deferred with the text and status (default 4.0.0).</summary>
    Retry,
    /// <summary>"discard:[d.d.d ]text" (Postfix discard(8)): every recipient is reported sent and dropped (default 2.0.0).</summary>
    Discard,
    /// <summary>"local:": the recipient is handed back to local delivery (its Maildir on this server).</summary>
    Local,
    /// <summary>The transport table could not be read: the recipient is deferred.</summary>
    TempFail,
}

/// <summary>
/// A resolved next hop: for SMTP, the host (a domain to look up MX records for, a host name, or an
/// address literal) and the port. Recipients with equal next hops share one delivery.
/// For the error, retry and discard agents Text is the reason and Dsn its status (ExplicitDsn: written in the entry).
public sealed record NextHop(NextHopKind Kind, string Host, int Port, bool UseMx, string? Text = null, string? Dsn = null, bool ExplicitDsn = false)
{
    /// <summary>The destination key for concurrency limits and grouping: "example.com", "[10.0.0.1]:2525".</summary>
    public string Key => Kind == NextHopKind.Smtp ? (UseMx ? $"{Host}:{Port}" : $"[{Host}]:{Port}") : $"{Kind}:{Dsn}:{Text}";

    /// <summary>
    /// Postfix's dsn_split: an optional RFC 3463 status ("5.7.1", class 2, 4 or 5, then 1-3 and 1-3 digits)
    /// followed by white space or the end starts the reason; without one the default status is used.
    /// The class is taken as written, as Postfix does.
    /// </summary>
    public static (string Dsn, string Text) SplitDsn(string reason, string defaultDsn)
    {
        var text = reason.TrimStart();
        var len = DsnLength(text);
        if (len == 0) return (defaultDsn, text);
        return (text[..len], text[len..].TrimStart());
    }

    private static int DsnLength(string s)
    {
        if (s.Length < 5 || s[0] is not ('2' or '4' or '5') || s[1] != '.') return 0;
        var i = 2;
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i - start is < 1 or > 3 || i >= s.Length || s[i] != '.') return 0;
        start = ++i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i - start is < 1 or > 3 || (i < s.Length && !char.IsWhiteSpace(s[i]))) return 0;
        return i;
    }

    /// <summary>
    /// Parses a next hop as written in relayhost or after "smtp:" in transport_maps: "host", "host:port",
    /// "[host]", "[host]:port", "[ipv6]:port". Brackets turn the MX lookup off (Postfix smtp(8)).
    /// </summary>
    public static NextHop? ParseSmtp(string text, int defaultPort)
    {
        text = text.Trim();
        if (text.Length == 0) return null;
        string host; string? portText = null; bool useMx = true;
        if (text[0] == '[')
        {
            var close = text.IndexOf(']');
            if (close < 0) return null;
            host = text[1..close];
            useMx = false;
            var rest = text[(close + 1)..];
            if (rest.StartsWith(':')) portText = rest[1..];
            else if (rest.Length > 0) return null;
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon > 0 && text.IndexOf(':') == colon) { host = text[..colon]; portText = text[(colon + 1)..]; }
            else host = text;
        }
        if (host.StartsWith("ipv6:", StringComparison.OrdinalIgnoreCase)) host = host[5..];
        var port = defaultPort;
        if (portText is not null)
        {
            if (portText.Equals("smtp", StringComparison.OrdinalIgnoreCase)) port = 25;
            else if (portText.Equals("submission", StringComparison.OrdinalIgnoreCase)) port = 587;
            else if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535) return null;
        }
        if (host.Length == 0) return null;
        return new NextHop(NextHopKind.Smtp, host.TrimEnd('.').ToLowerInvariant(), port, useMx);
    }
}
