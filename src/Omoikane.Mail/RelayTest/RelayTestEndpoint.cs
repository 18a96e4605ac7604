using System.Globalization;
using System.Net;

namespace Omoikane.Mail.RelayTest;

/// <summary>The HOST[:PORT] argument of <c>omoikane relaytest</c>.</summary>
public readonly record struct RelayTestEndpoint(string Host, int Port)
{
    /// <summary>
    /// Parses "host", "host:port", "1.2.3.4:25", "[2001:db8::1]:25", "[2001:db8::1]" and a bare IPv6
    /// address ("2001:db8::1", taken whole, never split at its last colon).
    /// </summary>
    public static bool TryParse(string text, int defaultPort, out RelayTestEndpoint endpoint)
    {
        endpoint = default;
        text = text.Trim();
        if (text.Length == 0) return false;
        string host; string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0) return false;
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') return false;
                port = rest[1..];
            }
            if (!IPAddress.TryParse(host, out _)) return false;
        }
        else if (text.Count(c => c == ':') > 1)
        {
            if (!IPAddress.TryParse(text, out _)) return false;
            host = text;
        }
        else
        {
            var colon = text.IndexOf(':');
            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
        }
        if (host.Length == 0 || host.Any(c => c <= ' ' || c >= 0x7f)) return false;
        var p = defaultPort;
        if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out p) || p is < 1 or > 65535))
            return false;
        endpoint = new RelayTestEndpoint(host, p);
        return true;
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
