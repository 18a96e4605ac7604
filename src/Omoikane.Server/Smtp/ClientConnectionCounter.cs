using System.Collections.Concurrent;
using System.Net;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Smtp;

/// <summary>
/// Concurrent sessions per client (Postfix anvil: smtpd_client_connection_count_limit), counted by
/// <see cref="ClientKey"/>: an IPv6 client by its smtpd_client_ipv6_prefix_length network, as Postfix 3.8.
/// </summary>
public sealed class ClientConnectionCounter(int ipv6PrefixLength = ClientKey.DefaultIpv6PrefixLength)
{
    private readonly ConcurrentDictionary<ClientKey, int> _counts = new();

    /// <summary>Counts a new session; returns the number now open from that client (network).</summary>
    public int Open(IPAddress client) => _counts.AddOrUpdate(ClientKey.From(client, ipv6PrefixLength), 1, (_, n) => n + 1);

    public void Close(IPAddress client)
    {
        var address = ClientKey.From(client, ipv6PrefixLength);
        while (true)
        {
            if (!_counts.TryGetValue(address, out var n)) return;
            if (n <= 1) { if (_counts.TryRemove(new KeyValuePair<ClientKey, int>(address, n))) return; }
            else if (_counts.TryUpdate(address, n - 1, n)) return;
        }
    }
}
