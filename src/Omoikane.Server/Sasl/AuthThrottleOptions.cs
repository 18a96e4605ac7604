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

    /// <summary>Most clients tracked at once; beyond it the stalest are forgotten.</summary>
    public int MaxClients { get; init; } = 10000;

    public static AuthThrottleOptions Default { get; } = new();
}
