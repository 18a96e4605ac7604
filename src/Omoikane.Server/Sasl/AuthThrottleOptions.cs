namespace Omoikane.Server.Sasl;

/// <summary>Tuning of <see cref="AuthThrottle"/>.</summary>
public sealed record AuthThrottleOptions
{
    /// <summary>Delay before answering the second failure; it doubles with each further one.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay (Dovecot's auth penalty stops at 15 s too).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Failures within <see cref="Window"/> after which the client is dropped.</summary>
    public int MaxFailures { get; init; } = 10;

    /// <summary>A client's failures are forgotten this long after its last one.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Most clients tracked at once; beyond it those with the fewest failures are forgotten.</summary>
    public int MaxClients { get; init; } = 10000;

    /// <summary>Accounts whose failures are kept apart per client (so that their own success can clear them).</summary>
    public int MaxAccountsPerClient { get; init; } = 32;

    /// <summary>smtpd_client_ipv6_prefix_length: IPv6 clients are counted by this network.</summary>
    public int Ipv6PrefixLength { get; init; } = ClientKey.DefaultIpv6PrefixLength;

    public static AuthThrottleOptions Default { get; } = new();
}
