using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.TestSupport.Dns;

/// <summary>
/// A small authoritative DNS server for tests, on a loopback address and an OS-chosen port, answering
/// over UDP and over TCP with the 2-byte length prefix (RFC 1035 §4.2) on the same port. Zone data and
/// per-name behaviours (<see cref="DnsBehavior"/>) are set in code and may change while it runs.
/// Unknown names answer NXDOMAIN; negative answers carry an SOA whose MINIMUM is <see cref="NegativeTtl"/>
/// (RFC 2308 §3). Queries are counted per name so tests can tell cache hits from server queries.
/// </summary>
public sealed class LoopbackDnsServer : IAsyncDisposable, IDisposable
{
    private const int MaxUdpWithoutEdns = 512; // RFC 1035 §4.2.1

    private readonly object _lock = new();
    private readonly Dictionary<string, List<ZoneRecord>> _zone = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, DnsType? Type), DnsBehavior> _behaviors = new();
    private readonly ConcurrentDictionary<string, int> _queriesByName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, DnsType Type), int> _queriesByType = new();
    private readonly ConcurrentDictionary<Socket, byte> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private int _udpQueries;
    private int _tcpQueries;
    private int _disposed;

    private LoopbackDnsServer(Socket udp, Socket tcp)
    {
        _udp = udp;
        _tcp = tcp;
        EndPoint = (IPEndPoint)udp.LocalEndPoint!;
        _udpLoop = Task.Run(UdpLoopAsync);
        _tcpLoop = Task.Run(TcpLoopAsync);
    }

    /// <summary>Starts a server on <paramref name="address"/> (default 127.0.0.1), which must be a loopback address.</summary>
    public static LoopbackDnsServer Start(IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        if (!IPAddress.IsLoopback(address))
            throw new ArgumentException("LoopbackDnsServer listens on loopback addresses only", nameof(address));
        // UDP takes an OS-chosen port; TCP must get the same one. Retry if TCP's is taken.
        for (int attempt = 0; ; attempt++)
        {
            var udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            var tcp = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                udp.Bind(new IPEndPoint(address, 0));
                tcp.Bind(new IPEndPoint(address, ((IPEndPoint)udp.LocalEndPoint!).Port));
                tcp.Listen(64);
                return new LoopbackDnsServer(udp, tcp);
            }
            catch (SocketException) when (attempt < 50)
            {
                udp.Dispose();
                tcp.Dispose();
            }
        }
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The value for dns_servers: "127.0.0.1:PORT" or "[::1]:PORT".</summary>
    public string DnsServersValue => EndPoint.AddressFamily == AddressFamily.InterNetworkV6
        ? $"[{EndPoint.Address}]:{EndPoint.Port}"
        : $"{EndPoint.Address}:{EndPoint.Port}";

    /// <summary>TTL and MINIMUM of the SOA sent with NXDOMAIN and NoData; null sends no SOA.</summary>
    public uint? NegativeTtl { get; set; } = 60;

    /// <summary>Queries answered (or dropped) per transport.</summary>
    public int UdpQueryCount => Volatile.Read(ref _udpQueries);
    public int TcpQueryCount => Volatile.Read(ref _tcpQueries);

    // ---- zone data ----

    public LoopbackDnsServer AddA(string name, string address, uint ttl = 300) => AddAddress(name, IPAddress.Parse(address), ttl);

    public LoopbackDnsServer AddAaaa(string name, string address, uint ttl = 300) => AddAddress(name, IPAddress.Parse(address), ttl);

    /// <summary>An A or AAAA record, by the address family.</summary>
    public LoopbackDnsServer AddAddress(string name, IPAddress address, uint ttl = 300)
        => Add(new ZoneRecord(Key(name), address.AddressFamily == AddressFamily.InterNetwork ? DnsType.A : DnsType.Aaaa, ttl,
            Address: address.GetAddressBytes()));

    /// <summary>A PTR record at the address's in-addr.arpa / ip6.arpa name.</summary>
    public LoopbackDnsServer AddPtr(string address, string hostName, uint ttl = 300)
        => Add(new ZoneRecord(ArpaName(IPAddress.Parse(address)), DnsType.Ptr, ttl, Target: Key(hostName)));

    public LoopbackDnsServer AddMx(string domain, ushort preference, string exchange, uint ttl = 300)
        => Add(new ZoneRecord(Key(domain), DnsType.Mx, ttl, Target: Key(exchange), Preference: preference));

    /// <summary>"0 ." (RFC 7505 §3).</summary>
    public LoopbackDnsServer AddNullMx(string domain, uint ttl = 300) => AddMx(domain, 0, ".", ttl);

    /// <summary>A TXT record; text longer than 255 octets is split into several character-strings (RFC 7208 §3.3).</summary>
    public LoopbackDnsServer AddTxt(string name, string text, uint ttl = 300)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var strings = new List<byte[]>();
        for (int i = 0; i < bytes.Length || strings.Count == 0; i += 255)
            strings.Add(bytes.AsSpan(i, Math.Min(255, bytes.Length - i)).ToArray());
        return Add(new ZoneRecord(Key(name), DnsType.Txt, ttl, Strings: strings));
    }

    public LoopbackDnsServer AddCname(string name, string target, uint ttl = 300)
        => Add(new ZoneRecord(Key(name), DnsType.Cname, ttl, Target: Key(target)));

    /// <summary>Adds an arbitrary record (owner name and target are taken as given).</summary>
    public LoopbackDnsServer Add(ZoneRecord record)
    {
        lock (_lock)
        {
            var name = Key(record.Name);
            if (!_zone.TryGetValue(name, out var list)) _zone[name] = list = new List<ZoneRecord>();
            list.Add(record with { Name = name });
        }
        return this;
    }

    /// <summary>Removes a name's records (all, or one type) and its behaviours.</summary>
    public LoopbackDnsServer Remove(string name, DnsType? type = null)
    {
        lock (_lock)
        {
            var key = Key(name);
            if (type is null) _zone.Remove(key);
            else if (_zone.TryGetValue(key, out var list)) list.RemoveAll(r => r.Type == type);
            foreach (var b in _behaviors.Keys.Where(k => k.Name == key && (type is null || k.Type == type)).ToList())
                _behaviors.Remove(b);
        }
        return this;
    }

    /// <summary>Sets how a name is answered, for every type or only <paramref name="type"/>.</summary>
    public LoopbackDnsServer SetBehavior(string name, DnsBehavior behavior, DnsType? type = null)
    {
        lock (_lock)
        {
            var key = (Key(name), type);
            if (behavior == DnsBehavior.Answer) _behaviors.Remove(key);
            else _behaviors[key] = behavior;
        }
        return this;
    }

    /// <summary>Same as <see cref="SetBehavior"/> for an address's PTR name.</summary>
    public LoopbackDnsServer SetPtrBehavior(string address, DnsBehavior behavior)
        => SetBehavior(ArpaName(IPAddress.Parse(address)), behavior, DnsType.Ptr);

    // ---- counters ----

    /// <summary>Queries received for a name, any type, over either transport.</summary>
    public int QueryCount(string name) => _queriesByName.GetValueOrDefault(Key(name));

    public int QueryCount(string name, DnsType type) => _queriesByType.GetValueOrDefault((Key(name), type));

    /// <summary>Queries received for an address's PTR name.</summary>
    public int PtrQueryCount(string address) => QueryCount(ArpaName(IPAddress.Parse(address)), DnsType.Ptr);

    public void ResetCounts()
    {
        _queriesByName.Clear();
        _queriesByType.Clear();
        Interlocked.Exchange(ref _udpQueries, 0);
        Interlocked.Exchange(ref _tcpQueries, 0);
    }

    /// <summary>The reverse-lookup owner name: "4.3.2.1.in-addr.arpa", or nibbles under ip6.arpa (RFC 3596 §2.5).</summary>
    public static string ArpaName(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        if (bytes.Length == 4) return $"{bytes[3]}.{bytes[2]}.{bytes[1]}.{bytes[0]}.in-addr.arpa";
        var sb = new StringBuilder();
        for (int i = bytes.Length - 1; i >= 0; i--)
            sb.Append($"{bytes[i] & 0xF:x}.{bytes[i] >> 4:x}.");
        return sb.Append("ip6.arpa").ToString();
    }

    // ---- answering ----

    /// <summary>The response to a query, or null when it must go unanswered.</summary>
    internal byte[]? Respond(ReadOnlySpan<byte> request, bool overUdp)
    {
        var query = DnsQuery.TryParse(request);
        if (query is null) return null;
        var name = Key(query.Name);
        var type = (DnsType)query.Type;
        _queriesByName.AddOrUpdate(name, 1, (_, n) => n + 1);
        _queriesByType.AddOrUpdate((name, type), 1, (_, n) => n + 1);
        if (overUdp) Interlocked.Increment(ref _udpQueries);
        else Interlocked.Increment(ref _tcpQueries);

        if (query.Opcode != 0) return Build(query, rcode: 4, [], soa: false, truncated: false); // NOTIMP

        var answers = new List<ZoneRecord>();
        int rcode = 0;
        bool soa = false, truncate = false;
        lock (_lock)
        {
            var behavior = BehaviorOf(name, type);
            switch (behavior)
            {
                case DnsBehavior.NeverAnswer: return null;
                case DnsBehavior.ServFail: return Build(query, 2, [], false, false);
                case DnsBehavior.Refused: return Build(query, 5, [], false, false);
                case DnsBehavior.NxDomain: rcode = 3; soa = true; break;
                case DnsBehavior.NoData: soa = true; break;
                default:
                    truncate = behavior == DnsBehavior.TruncateOverUdp && overUdp;
                    rcode = Resolve(name, type, answers);
                    soa = answers.Count == 0 || rcode == 3;
                    break;
            }
        }
        var response = Build(query, rcode, answers, soa, truncate);
        // RFC 1035 §4.2.1: over UDP, 512 octets unless EDNS announced more (RFC 6891 §6.2.3).
        int limit = Math.Max(MaxUdpWithoutEdns, query.EdnsPayloadSize ?? 0);
        if (overUdp && response.Length > limit) response = Build(query, rcode, [], false, truncated: true);
        return response;
    }

    private DnsBehavior BehaviorOf(string name, DnsType type)
        => _behaviors.TryGetValue((name, type), out var b) || _behaviors.TryGetValue((name, null), out b) ? b : DnsBehavior.Answer;

    /// <summary>
    /// Collects the answer, following CNAMEs inside the zone (RFC 1034 §4.3.2 step 3a). Returns the
    /// RCODE: 3 when the final name does not exist (RFC 6604 §3), else 0.
    /// </summary>
    private int Resolve(string name, DnsType type, List<ZoneRecord> answers)
    {
        var current = name;
        for (int hops = 0; hops < 8; hops++)
        {
            if (!_zone.TryGetValue(current, out var records) || records.Count == 0) return 3;
            var cname = records.FirstOrDefault(r => r.Type == DnsType.Cname);
            if (cname is not null && type != DnsType.Cname && type != DnsType.Any)
            {
                answers.Add(cname);
                current = cname.Target!;
                continue;
            }
            answers.AddRange(records.Where(r => r.Type == type || type == DnsType.Any));
            return 0;
        }
        return 2; // CNAME loop
    }

    private byte[] Build(DnsQuery query, int rcode, IReadOnlyList<ZoneRecord> answers, bool soa, bool truncated)
    {
        var w = new DnsMessageWriter();
        // Header (RFC 1035 §4.1.1): QR, the query's opcode, AA, TC, the query's RD, RA, RCODE.
        int flags = 0x8000 | (query.Opcode << 11) | 0x0400 | (truncated ? 0x0200 : 0)
                    | (query.RecursionDesired ? 0x0100 : 0) | 0x0080 | (rcode & 0xF);
        uint? negativeTtl = NegativeTtl;
        bool withSoa = soa && negativeTtl is not null && !truncated;
        bool withOpt = query.EdnsPayloadSize is not null;
        w.Write16(query.Id);
        w.Write16(flags);
        w.Write16(1);
        w.Write16(truncated ? 0 : answers.Count);
        w.Write16(withSoa ? 1 : 0);
        w.Write16(withOpt ? 1 : 0);
        w.WriteName(query.Labels);
        w.Write16(query.Type);
        w.Write16(query.Class);
        if (!truncated)
            foreach (var record in answers) WriteRecord(w, record);
        if (withSoa)
        {
            // Negative answers carry the zone's SOA; its MINIMUM bounds negative caching (RFC 2308 §3, §5).
            WriteRecord(w, new ZoneRecord("", DnsType.Soa, negativeTtl!.Value, Preference: 0));
        }
        if (withOpt)
        {
            // OPT pseudo-record: root owner, type 41, CLASS = our UDP payload size (RFC 6891 §6.1.2).
            w.Write8(0);
            w.Write16((int)DnsType.Opt);
            w.Write16(1232);
            w.Write32(0);
            w.Write16(0);
        }
        return w.ToArray();
    }

    private static void WriteRecord(DnsMessageWriter w, ZoneRecord r)
    {
        w.WriteName(r.Name);
        w.Write16((int)r.Type);
        w.Write16(1); // IN
        w.Write32(r.Ttl);
        int lengthAt = w.Length;
        w.Write16(0);
        int start = w.Length;
        switch (r.Type)
        {
            case DnsType.A:
            case DnsType.Aaaa:
                w.WriteBytes(r.Address);
                break;
            case DnsType.Cname:
            case DnsType.Ptr:
            case DnsType.Ns:
                w.WriteName(r.Target!);
                break;
            case DnsType.Mx:
                w.Write16(r.Preference);
                w.WriteName(r.Target!);
                break;
            case DnsType.Txt:
                foreach (var s in r.Strings ?? [])
                {
                    w.Write8((byte)s.Length);
                    w.WriteBytes(s);
                }
                break;
            case DnsType.Soa:
                // MNAME, RNAME, SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM (RFC 1035 §3.3.13).
                w.WriteName("ns.loopback.test");
                w.WriteName("hostmaster.loopback.test");
                w.Write32(1);
                w.Write32(3600);
                w.Write32(600);
                w.Write32(86400);
                w.Write32(r.Ttl);
                break;
        }
        w.Patch16(lengthAt, w.Length - start);
    }

    private static string Key(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();

    // ---- transports ----

    private async Task UdpLoopAsync()
    {
        var buffer = new byte[65535];
        EndPoint any = new IPEndPoint(EndPoint.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
                var response = Respond(buffer.AsSpan(0, received.ReceivedBytes), overUdp: true);
                if (response is not null)
                    await _udp.SendToAsync(response, SocketFlags.None, received.RemoteEndPoint, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException) when (!_stop.IsCancellationRequested) { /* e.g. ICMP unreachable from a gone client */ }
            catch (SocketException) { break; }
        }
    }

    private async Task TcpLoopAsync()
    {
        var handlers = new List<Task>();
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _tcp.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException) when (!_stop.IsCancellationRequested) { continue; }
            catch (SocketException) { break; }
            _connections[client] = 0;
            handlers.RemoveAll(t => t.IsCompleted);
            handlers.Add(Task.Run(() => ServeTcpAsync(client)));
        }
        await Task.WhenAll(handlers).ConfigureAwait(false);
    }

    /// <summary>Messages over TCP carry a 2-octet length prefix (RFC 1035 §4.2.2); several may share a connection (RFC 7766 §6.2.1).</summary>
    private async Task ServeTcpAsync(Socket client)
    {
        var prefix = new byte[2];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!await ReadExactlyAsync(client, prefix).ConfigureAwait(false)) break;
                var message = new byte[(prefix[0] << 8) | prefix[1]];
                if (!await ReadExactlyAsync(client, message).ConfigureAwait(false)) break;
                var response = Respond(message, overUdp: false);
                if (response is null) continue;
                var framed = new byte[response.Length + 2];
                framed[0] = (byte)(response.Length >> 8);
                framed[1] = (byte)response.Length;
                response.CopyTo(framed, 2);
                await client.SendAsync(framed, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        finally
        {
            _connections.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Dispose();
        foreach (var c in _connections.Keys) c.Dispose();
        await Task.WhenAll(_udpLoop, _tcpLoop).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
