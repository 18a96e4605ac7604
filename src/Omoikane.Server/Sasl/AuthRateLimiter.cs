using System.Net;

namespace Omoikane.Server.Sasl;

/// <summary>
/// smtpd_client_auth_rate_limit: at most <c>limit</c> AUTH commands per client per anvil_rate_time_unit,
/// whether they succeed or not; 0 means no limit. Like Postfix's anvil, a client's count starts with its
/// first AUTH and resets one time unit later. Thread-safe; memory bounded by <c>maxClients</c>: when full,
/// expired windows go first, then those with the fewest events, so filling the table with new clients
/// does not reset a busy client's count.
/// </summary>
public sealed class AuthRateLimiter(int limit, TimeSpan timeUnit, TimeProvider time, int maxClients = 10000,
    int ipv6PrefixLength = ClientKey.DefaultIpv6PrefixLength)
{
    private readonly Dictionary<ClientKey, Window> _windows = new();
    private readonly object _gate = new();

    public bool Enabled => limit > 0;

    /// <summary>Counts one AUTH command; false when it exceeds the limit (Postfix answers 450 4.7.1).</summary>
    public bool TryAcquire(IPAddress client)
    {
        if (limit <= 0) return true;
        var key = ClientKey.From(client, ipv6PrefixLength);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_windows.TryGetValue(key, out var window) || now - window.Start >= timeUnit)
            {
                if (!_windows.ContainsKey(key) && _windows.Count >= maxClients) Prune(now);
                window = new Window { Start = now };
                _windows[key] = window;
            }
            if (window.Count >= limit) return false;
            window.Count++;
            return true;
        }
    }

    public int Count { get { lock (_gate) return _windows.Count; } }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, w) in _windows.ToArray())
            if (now - w.Start >= timeUnit) _windows.Remove(key);
        if (_windows.Count < maxClients) return;
        foreach (var (key, _) in _windows.OrderBy(w => w.Value.Count).ThenBy(w => w.Value.Start)
                     .Take(Math.Max(1, _windows.Count / 8)).ToArray())
            _windows.Remove(key);
    }

    private sealed class Window
    {
        public DateTimeOffset Start;
        public int Count;
    }
}
