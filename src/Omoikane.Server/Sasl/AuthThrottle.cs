using System.Net;
using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// Failed-authentication throttle shared by SMTP AUTH and POP3 (USER/PASS, APOP, AUTH). Failures are
/// counted per client (<see cref="ClientKey"/>: an address, an IPv6 client by its network) and, within
/// the client, per target account. Each failure makes the answer to the next one wait longer — 0 s, 1 s,
/// 2 s, 4 s, ... up to <see cref="AuthThrottleOptions.MaxDelay"/> — and once the client's failures reach
/// <see cref="AuthThrottleOptions.MaxFailures"/> within the window it is dropped, and stays blocked until
/// the window passes. A success clears only the failures made against the account that succeeded: a
/// login as A never forgives the guesses made at B from the same client.
/// <para>Memory is bounded: at most <see cref="AuthThrottleOptions.MaxClients"/> clients, each with at most
/// <see cref="AuthThrottleOptions.MaxAccountsPerClient"/> accounts (failures at further accounts count for
/// the client but no success clears them). When the table is full, expired clients go first, then the
/// eighth with the fewest failures (the oldest among equals): new clients start at one failure, so filling
/// the table with fresh keys evicts fresh keys, never a client close to its limit.</para>
/// Thread-safe.
/// </summary>
public sealed class AuthThrottle(AuthThrottleOptions options, TimeProvider time)
{
    private readonly Dictionary<ClientKey, Entry> _entries = new();
    private readonly object _gate = new();

    public AuthThrottle() : this(AuthThrottleOptions.Default, TimeProvider.System) { }

    /// <summary>Clients currently remembered (for tests and statistics).</summary>
    public int Count { get { lock (_gate) return _entries.Count; } }

    /// <summary>Records a failure against <paramref name="account"/> (as the client typed it; null or empty when unknown) and says how to answer it.</summary>
    public AuthFailureVerdict RecordFailure(IPAddress client, string? account = null)
    {
        var key = Key(client);
        var now = time.GetUtcNow();
        var name = AccountKey(account);
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry) || Expired(entry, now))
            {
                if (!_entries.ContainsKey(key) && _entries.Count >= options.MaxClients) Prune(now);
                entry = new Entry();
                _entries[key] = entry;
            }
            entry.Failures++;
            entry.Last = now;
            if (name.Length > 0 && (entry.Accounts.ContainsKey(name) || entry.Accounts.Count < options.MaxAccountsPerClient))
                entry.Accounts[name] = entry.Accounts.GetValueOrDefault(name) + 1;
            return new AuthFailureVerdict(DelayFor(entry.Failures), entry.Failures >= options.MaxFailures, entry.Failures);
        }
    }

    /// <summary>A successful login as <paramref name="account"/>: the failures made against that account are forgiven, no others.</summary>
    public void RecordSuccess(IPAddress client, string account)
    {
        var key = Key(client);
        var name = AccountKey(account);
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry) || !entry.Accounts.Remove(name, out var own)) return;
            entry.Failures -= own;
            if (entry.Failures <= 0) _entries.Remove(key);
        }
    }

    /// <summary>True while the client has reached the failure limit within the window: refuse AUTH without trying.</summary>
    public bool IsBlocked(IPAddress client) => Failures(client) >= options.MaxFailures;

    /// <summary>The failure count now remembered for the client (0 when none or expired).</summary>
    public int Failures(IPAddress client)
    {
        var now = time.GetUtcNow();
        lock (_gate)
            return _entries.TryGetValue(Key(client), out var entry) && !Expired(entry, now) ? entry.Failures : 0;
    }

    private ClientKey Key(IPAddress client) => ClientKey.From(client, options.Ipv6PrefixLength);

    /// <summary>One key per account however it is spelt, folded as the user store compares names.</summary>
    private static string AccountKey(string? account)
    {
        if (string.IsNullOrEmpty(account)) return "";
        if (account.Length > 320) account = account[..320];
        return (UserAddress.TryNormalize(account, out var canonical, out _) ? canonical : account).ToUpperInvariant();
    }

    private TimeSpan DelayFor(int failures)
    {
        if (failures <= 1) return TimeSpan.Zero;
        int doublings = Math.Min(failures - 2, 30);
        var delay = options.BaseDelay * Math.Pow(2, doublings);
        return delay > options.MaxDelay ? options.MaxDelay : delay;
    }

    private bool Expired(Entry entry, DateTimeOffset now) => now - entry.Last >= options.Window;

    // Expired entries first; if still full, the eighth with the fewest failures (oldest first among equals).
    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries.ToArray())
            if (Expired(entry, now)) _entries.Remove(key);
        if (_entries.Count < options.MaxClients) return;
        foreach (var (key, _) in _entries.OrderBy(e => e.Value.Failures).ThenBy(e => e.Value.Last)
                     .Take(Math.Max(1, _entries.Count / 8)).ToArray())
            _entries.Remove(key);
    }

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset Last;
        public readonly Dictionary<string, int> Accounts = new(StringComparer.Ordinal);
    }
}
