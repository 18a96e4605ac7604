using System.Collections.Concurrent;

namespace Omoikane.Mail.Dns;

/// <summary>
/// The answer cache of <see cref="DnsResolver"/>, keyed by (lower-case name, record type). Entries carry
/// their own expiry measured on the injected <see cref="TimeProvider"/>'s monotonic clock. Size is bounded:
/// past the limit, expired entries are swept and then the entries closest to expiry are dropped.
/// </summary>
internal sealed class DnsCache
{
    private readonly ConcurrentDictionary<(string Name, ushort Type), Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private readonly object _trimLock = new();

    private sealed record Entry(object Answer, long ExpiresAt);

    public DnsCache(TimeProvider time, int maxEntries)
    {
        _time = time;
        _maxEntries = Math.Max(1, maxEntries);
    }

    public int Count => _entries.Count;

    public bool TryGet((string Name, ushort Type) key, out object answer)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (_time.GetTimestamp() < entry.ExpiresAt)
            {
                answer = entry.Answer;
                return true;
            }
            _entries.TryRemove(new KeyValuePair<(string, ushort), Entry>(key, entry));
        }
        answer = null!;
        return false;
    }

    public void Set((string Name, ushort Type) key, object answer, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero) return; // TTL 0: use once, never cache (RFC 1035 §3.2.1)
        long expires = _time.GetTimestamp() + (long)(ttl.TotalSeconds * _time.TimestampFrequency);
        _entries[key] = new Entry(answer, expires);
        if (_entries.Count > _maxEntries) Trim();
    }

    public void Clear() => _entries.Clear();

    private void Trim()
    {
        lock (_trimLock)
        {
            if (_entries.Count <= _maxEntries) return;
            long now = _time.GetTimestamp();
            foreach (var pair in _entries)
                if (pair.Value.ExpiresAt <= now) _entries.TryRemove(pair);
            int excess = _entries.Count - _maxEntries * 9 / 10;
            if (excess <= 0) return;
            foreach (var pair in _entries.OrderBy(p => p.Value.ExpiresAt).Take(excess).ToList())
                _entries.TryRemove(pair);
        }
    }
}
