using System.Collections.Concurrent;
using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>
/// permit_pop_before_smtp (CONTRACT.md): a successful POP3 login records the client address, which
/// may then relay for pop_before_smtp_lifetime. Thread-safe; expired entries are pruned as records arrive.
/// </summary>
public sealed class PopBeforeSmtpRegistry
{
    private readonly ConcurrentDictionary<IPAddress, DateTimeOffset> _logins = new();
    private long _lastPruneTicks;

    public PopBeforeSmtpRegistry(TimeSpan lifetime)
    {
        if (lifetime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(lifetime));
        Lifetime = lifetime;
    }

    public static PopBeforeSmtpRegistry FromParameters(Parameters parameters)
        => new(parameters.GetTime("pop_before_smtp_lifetime") is { } t && t > TimeSpan.Zero ? t : TimeSpan.FromMinutes(10));

    public TimeSpan Lifetime { get; }

    public int Count => _logins.Count;

    public void Record(IPAddress address, DateTimeOffset now)
    {
        _logins[IpNetwork.Normalize(address)] = now;
        var last = Interlocked.Read(ref _lastPruneTicks);
        if (now.UtcTicks - last >= Lifetime.Ticks && Interlocked.CompareExchange(ref _lastPruneTicks, now.UtcTicks, last) == last)
            Prune(now);
    }

    public bool IsAuthorized(IPAddress address, DateTimeOffset now)
        => _logins.TryGetValue(IpNetwork.Normalize(address), out var at) && now - at < Lifetime && now >= at - Lifetime;

    public void Prune(DateTimeOffset now)
    {
        foreach (var (ip, at) in _logins)
            if (now - at >= Lifetime)
                _logins.TryRemove(new KeyValuePair<IPAddress, DateTimeOffset>(ip, at));
    }
}
