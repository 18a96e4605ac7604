using System.Net;

namespace Omoikane.Server.Sasl;

/// <summary>
/// Failed-authentication throttle shared by SMTP AUTH and POP3 (USER/PASS, APOP, AUTH), keyed by client
/// (<see cref="ClientKey"/>). Each failure makes the answer to the next one wait longer — 0 s, 1 s, 2 s,
/// 4 s, ... up to <see cref="AuthThrottleOptions.MaxDelay"/> — and after <see cref="AuthThrottleOptions.MaxFailures"/>
/// failures within the window the client is to be dropped, and stays blocked until the window passes.
/// A success clears the client's record. Thread-safe; memory is bounded by <see cref="AuthThrottleOptions.MaxClients"/>.
/// </summary>
public sealed class AuthThrottle(AuthThrottleOptions options, TimeProvider time)
{
    private readonly Dictionary<ClientKey, Entry> _entries = new();
    private readonly object _gate = new();

    public AuthThrottle() : this(AuthThrottleOptions.Default, TimeProvider.System) { }

    /// <summary>Clients currently remembered (for tests and statistics).</summary>
    public int Count { get { lock (_gate) return _entries.Count; } }

    /// <summary>Records a failure and says how to answer it.</summary>
    public AuthFailureVerdict RecordFailure(IPAddress client)
    {
        var key = ClientKey.From(client);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry) || Expired(entry, now))
            {
                if (_entries.Count >= options.MaxClients) Prune(now);
                entry = new Entry();
                _entries[key] = entry;
            }
            entry.Failures++;
            entry.Last = now;
            return new AuthFailureVerdict(DelayFor(entry.Failures), entry.Failures >= options.MaxFailures, entry.Failures);
        }
    }

    /// <summary>A successful login: the client starts afresh.</summary>
    public void RecordSuccess(IPAddress client)
    {
        lock (_gate) _entries.Remove(ClientKey.From(client));
    }

    /// <summary>True while the client has reached the failure limit within the window: refuse AUTH without trying.</summary>
    public bool IsBlocked(IPAddress client)
    {
        var now = time.GetUtcNow();
        lock (_gate)
            return _entries.TryGetValue(ClientKey.From(client), out var entry) && !Expired(entry, now)
                   && entry.Failures >= options.MaxFailures;
    }

    /// <summary>The failure count now remembered for the client (0 when none or expired).</summary>
    public int Failures(IPAddress client)
    {
        var now = time.GetUtcNow();
        lock (_gate)
            return _entries.TryGetValue(ClientKey.From(client), out var entry) && !Expired(entry, now) ? entry.Failures : 0;
    }

    private TimeSpan DelayFor(int failures)
    {
        if (failures <= 1) return TimeSpan.Zero;
        int doublings = Math.Min(failures - 2, 30);
        var delay = options.BaseDelay * Math.Pow(2, doublings);
        return delay > options.MaxDelay ? options.MaxDelay : delay;
    }

    private bool Expired(Entry entry, DateTimeOffset now) => now - entry.Last >= options.Window;

    // Drop expired entries; if still full, the stalest half.
    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries.ToArray())
            if (Expired(entry, now)) _entries.Remove(key);
        if (_entries.Count < options.MaxClients) return;
        foreach (var (key, _) in _entries.OrderBy(e => e.Value.Last).Take(Math.Max(1, _entries.Count / 2)).ToArray())
            _entries.Remove(key);
    }

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset Last;
    }
}
