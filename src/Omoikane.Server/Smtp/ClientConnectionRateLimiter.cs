using System.Net;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Smtp;

/// <summary>
/// smtpd_client_connection_rate_limit: at most <c>limit</c> connection attempts per client per
/// anvil_rate_time_unit to one service (Postfix anvil keys its rates by service and client); 0 means no
/// limit. The window starts with a client's first connection, as anvil's does. Thread-safe, memory bounded.
/// </summary>
public sealed class ClientConnectionRateLimiter(int limit, TimeSpan timeUnit, TimeProvider time, int ipv6PrefixLength = ClientKey.DefaultIpv6PrefixLength)
{
    private readonly AuthRateLimiter _windows = new(limit, timeUnit, time, ipv6PrefixLength: ipv6PrefixLength);

    public bool Enabled => limit > 0;

    /// <summary>Counts one connection; false when it exceeds the limit (Postfix answers 421 4.7.0).</summary>
    public bool TryAcquire(IPAddress client) => _windows.TryAcquire(client);
}
