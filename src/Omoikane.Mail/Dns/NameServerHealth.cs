using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.Dns;

/// <summary>
/// Which name servers are known to be unreachable. DnsClient sends its queries from unconnected UDP
/// sockets, and Linux does not report an ICMP "port unreachable" to those: a dead server looks like a
/// silent one and costs every try's timeout. So, alongside a query, a server not checked lately is
/// probed from a connected UDP socket (one small query for the root's NS records; the answer itself
/// is not used): ConnectionRefused, HostUnreachable or NetworkUnreachable mark the server dead for
/// <see cref="DeadTtl"/>, during which it is skipped, and a lookup with every server dead fails at
/// once as a temporary failure. A server is probed at most once per <see cref="ProbeInterval"/>.
/// </summary>
public sealed class NameServerHealth(TimeProvider time)
{
    /// <summary>How long a server that refused stays skipped before it is probed again.</summary>
    public static TimeSpan DeadTtl { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The least time between two probes of one server.</summary>
    public static TimeSpan ProbeInterval { get; } = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<IPEndPoint, State> _states = new();

    /// <summary>The servers not known to be dead, in their order.</summary>
    public IReadOnlyList<IPEndPoint> Usable(IReadOnlyList<IPEndPoint> servers)
    {
        var now = time.GetUtcNow();
        return servers.Where(s => !_states.TryGetValue(s, out var st) || st.DeadUntil <= now).ToArray();
    }

    /// <summary>True while the server is marked dead.</summary>
    public bool IsDead(IPEndPoint server) => _states.TryGetValue(server, out var st) && st.DeadUntil > time.GetUtcNow();

    /// <summary>
    /// Probes the servers not probed within <see cref="ProbeInterval"/>; completes with true as soon as
    /// every one of <paramref name="servers"/> is known dead, with false when that cannot be known
    /// (a server answered, stayed silent for <paramref name="wait"/> or until <paramref name="ct"/>, or was
    /// probed lately and not found dead).
    /// </summary>
    public async Task<bool> AllDeadAsync(IReadOnlyList<IPEndPoint> servers, TimeSpan wait, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var probes = new List<Task<bool>>();
        foreach (var server in servers)
        {
            var state = _states.GetOrAdd(server, _ => new State());
            lock (state)
            {
                if (now - state.ProbedAt < ProbeInterval) return false;   // checked lately and not dead (Usable skipped the dead)
                state.ProbedAt = now;
            }
            probes.Add(ProbeAsync(server, state, wait, ct));
        }
        if (probes.Count == 0) return false;
        var results = await Task.WhenAll(probes).ConfigureAwait(false);
        return results.All(dead => dead);
    }

    private async Task<bool> ProbeAsync(IPEndPoint server, State state, TimeSpan wait, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(wait);
        var ct = timeout.Token;
        try
        {
            using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            await socket.ConnectAsync(server, ct).ConfigureAwait(false);
            await socket.SendAsync(RootNsQuery(), SocketFlags.None, ct).ConfigureAwait(false);
            var buffer = new byte[512];
            await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            return false;   // something answered: alive
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable
                                            or SocketError.NetworkUnreachable or SocketError.ConnectionReset)
        {
            lock (state) state.DeadUntil = time.GetUtcNow() + DeadTtl;
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>A standard query, recursion desired, for ". IN NS" (RFC 1035 §4.1).</summary>
    private static byte[] RootNsQuery()
    {
        var id = (ushort)Random.Shared.Next(0, 65536);
        return [(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1];
    }

    private sealed class State
    {
        public DateTimeOffset ProbedAt = DateTimeOffset.MinValue;
        public DateTimeOffset DeadUntil = DateTimeOffset.MinValue;
    }
}
