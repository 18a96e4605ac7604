using System.Collections.Concurrent;
using System.Net;

namespace Omoikane.Server.Smtp;

/// <summary>Concurrent sessions per client address (Postfix anvil: smtpd_client_connection_count_limit).</summary>
public sealed class ClientConnectionCounter
{
    private readonly ConcurrentDictionary<IPAddress, int> _counts = new();

    /// <summary>Counts a new session; returns the number now open from that address.</summary>
    public int Open(IPAddress address) => _counts.AddOrUpdate(address, 1, (_, n) => n + 1);

    public void Close(IPAddress address)
    {
        while (true)
        {
            if (!_counts.TryGetValue(address, out var n)) return;
            if (n <= 1) { if (_counts.TryRemove(new KeyValuePair<IPAddress, int>(address, n))) return; }
            else if (_counts.TryUpdate(address, n - 1, n)) return;
        }
    }
}
