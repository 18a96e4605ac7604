using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Dns;

/// <summary>
/// Settings of the process resolver. Servers empty means the system resolver (/etc/resolv.conf).
/// Timeout applies to one try against one server; Retries are extra tries on timeouts and network
/// errors; <see cref="Deadline"/>, when set, bounds a whole lookup (every try of every server).
/// The cache settings bound how long answers live (see <see cref="DnsResolver"/>).
/// </summary>
public sealed record DnsResolverOptions(IReadOnlyList<IPEndPoint> Servers, TimeSpan Timeout, int Retries = 2)
{
    public const int DefaultPort = 53;

    /// <summary>The system resolver, a 5 s timeout and 2 retries (the dns_timeout default).</summary>
    public static DnsResolverOptions Default { get; } = new([], TimeSpan.FromSeconds(5));

    /// <summary>The longest one lookup may take, all tries together (dns_timeout); null: only the tries bound it.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>The shortest time one try gets when dns_timeout is split over the tries.</summary>
    public static TimeSpan MinTryTimeout { get; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Upper bound on cached answers; the oldest are dropped past it.</summary>
    public int MaxCacheEntries { get; init; } = 10_000;

    /// <summary>Upper bound on any positive TTL.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Negative-answer lifetime when the response carries no SOA (RFC 2308 §5).</summary>
    public TimeSpan DefaultNegativeTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound on negative-answer lifetimes (RFC 2308 §5 suggests one to three hours).</summary>
    public TimeSpan MaxNegativeTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a temporary failure is remembered, so that the checks of one session do not each wait
    /// for the same dead server. Kept short (RFC 2308 §7.1 allows up to 5 minutes; we use seconds).
    /// Zero disables it.
    /// </summary>
    public TimeSpan TempFailTtl { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Reads dns_servers and dns_timeout. Throws <see cref="ArgumentException"/> listing every bad entry;
    /// use <see cref="TryFromParameters"/> to collect the problems instead.
    /// </summary>
    public static DnsResolverOptions FromParameters(Parameters parameters)
        => TryFromParameters(parameters, out var options, out var errors)
            ? options
            : throw new ArgumentException(string.Join("; ", errors));

    /// <summary>Reads dns_servers and dns_timeout; every problem is reported at once in <paramref name="errors"/>.</summary>
    public static bool TryFromParameters(Parameters parameters, out DnsResolverOptions options, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        var servers = new List<IPEndPoint>();
        foreach (var spec in parameters.GetList("dns_servers"))
        {
            if (TryParseServer(spec, out var endPoint)) servers.Add(endPoint);
            else problems.Add($"dns_servers: \"{spec}\" is not IP, IP:PORT or [IPv6]:PORT (example: 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53)");
        }
        var timeout = parameters.GetTime("dns_timeout");
        if (timeout <= TimeSpan.Zero)
        {
            problems.Add($"dns_timeout: \"{parameters.Get("dns_timeout")}\" must be a positive time such as 5s");
            timeout = Default.Timeout;
        }
        options = ForDeadline(servers, timeout);
        errors = problems;
        return problems.Count == 0;
    }

    /// <summary>
    /// dns_timeout bounds a whole lookup: two tries per server (one retry), each getting an equal share of
    /// it (at least <see cref="MinTryTimeout"/>), so a silent server costs at most dns_timeout, not a multiple.
    /// </summary>
    public static DnsResolverOptions ForDeadline(IReadOnlyList<IPEndPoint> servers, TimeSpan deadline)
    {
        const int retries = 1;
        var perTry = deadline / ((retries + 1) * Math.Max(1, servers.Count));
        if (perTry < MinTryTimeout) perTry = deadline < MinTryTimeout ? deadline : MinTryTimeout;
        return new DnsResolverOptions(servers, perTry, retries) { Deadline = deadline };
    }

    /// <summary>Parses "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT"; a bare IPv6 address and no port mean port 53.</summary>
    public static bool TryParseServer(string spec, out IPEndPoint endPoint)
    {
        endPoint = null!;
        spec = spec.Trim();
        IPAddress? address;
        int port = DefaultPort;
        if (spec.StartsWith('['))
        {
            int close = spec.IndexOf(']');
            if (close < 0 || !TryParseV6(spec[1..close], out address)) return false;
            var rest = spec[(close + 1)..];
            if (rest.Length > 0 && (rest[0] != ':' || !TryParsePort(rest[1..], out port))) return false;
        }
        else if (spec.Count(c => c == ':') >= 2)
        {
            if (!TryParseV6(spec, out address)) return false;
        }
        else
        {
            int colon = spec.IndexOf(':');
            var host = colon < 0 ? spec : spec[..colon];
            if (!TryParseV4(host, out address)) return false;
            if (colon >= 0 && !TryParsePort(spec[(colon + 1)..], out port)) return false;
        }
        endPoint = new IPEndPoint(address!, port);
        return true;
    }

    private static bool TryParseV6(string text, out IPAddress? address)
        => IPAddress.TryParse(text, out address) && address.AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary>Dotted quad only: IPAddress.TryParse would also take "1.2.3" or "1".</summary>
    private static bool TryParseV4(string text, out IPAddress? address)
    {
        address = null;
        var parts = text.Split('.');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit))) return false;
        return IPAddress.TryParse(text, out address) && address.AddressFamily == AddressFamily.InterNetwork;
    }

    private static bool TryParsePort(string text, out int port)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
