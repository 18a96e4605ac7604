namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>
/// Idle connections kept for the next message to the same server (Postfix's connection cache, scache(8)),
/// keyed by "host[address]:port". A connection idle longer than smtp_connection_cache_time_limit, or one the
/// peer has closed, is not handed out; a timer closes expired ones.
/// </summary>
public sealed class SmtpConnectionCache : IAsyncDisposable
{
    private const int MaxUses = 100; // Postfix smtp_connection_reuse_count_limit-like cap
    private readonly Dictionary<string, Stack<SmtpClientConnection>> _idle = new(StringComparer.Ordinal);
    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _limit;
    private readonly ITimer _sweeper;
    private bool _disposed;

    public SmtpConnectionCache(TimeSpan limit, TimeProvider time)
    {
        _limit = limit;
        _time = time;
        var period = limit > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : limit;
        _sweeper = time.CreateTimer(_ => _ = SweepAsync(), null, period, period);
    }

    /// <summary>Connections currently idle (tests and statistics).</summary>
    public int IdleCount { get { lock (_lock) return _idle.Values.Sum(s => s.Count); } }

    public SmtpClientConnection? Take(string key)
    {
        List<SmtpClientConnection> stale = new();
        SmtpClientConnection? found = null;
        lock (_lock)
        {
            if (_idle.TryGetValue(key, out var stack))
            {
                while (stack.Count > 0)
                {
                    var c = stack.Pop();
                    if (_time.GetElapsedTime(c.IdleSince) < _limit && c.LooksAlive()) { found = c; break; }
                    stale.Add(c);
                }
            }
        }
        foreach (var s in stale) _ = s.DisposeAsync();
        return found;
    }

    /// <summary>Keeps the connection for reuse; false when it cannot be kept (the caller closes it).</summary>
    public bool Return(string key, SmtpClientConnection connection)
    {
        if (_limit <= TimeSpan.Zero || connection.Uses >= MaxUses) return false;
        connection.IdleSince = _time.GetTimestamp();
        lock (_lock)
        {
            if (_disposed) return false;
            if (!_idle.TryGetValue(key, out var stack)) _idle[key] = stack = new Stack<SmtpClientConnection>();
            stack.Push(connection);
        }
        return true;
    }

    private async Task SweepAsync()
    {
        var expired = new List<SmtpClientConnection>();
        lock (_lock)
        {
            foreach (var (key, stack) in _idle.ToList())
            {
                var keep = stack.Reverse().Where(c => _time.GetElapsedTime(c.IdleSince) < _limit).ToList();
                expired.AddRange(stack.Except(keep));
                stack.Clear();
                foreach (var c in keep) stack.Push(c);
                if (stack.Count == 0) _idle.Remove(key);
            }
        }
        foreach (var c in expired) await QuitAsync(c).ConfigureAwait(false);
    }

    /// <summary>Ends an idle connection politely (QUIT, RFC 5321 §4.1.1.10) without waiting long for the reply.</summary>
    internal static async Task QuitAsync(SmtpClientConnection c)
    {
        try { await c.CommandAsync("QUIT", SmtpClientStage.Quit, TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false); }
        catch (SmtpClientException) { }
        await c.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        List<SmtpClientConnection> all;
        lock (_lock)
        {
            _disposed = true;
            all = _idle.Values.SelectMany(s => s).ToList();
            _idle.Clear();
        }
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(all.Select(QuitAsync)).ConfigureAwait(false);
    }
}
