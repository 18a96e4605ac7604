using System.Collections.Concurrent;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Dns;

/// <summary>
/// The process resolver (one instance, shared by every check and by delivery), on DnsClient.
/// <list type="bullet">
/// <item>Servers from dns_servers, else the system resolver; per-try timeout dns_timeout; retries on
/// timeouts and network errors; TCP when a UDP answer is truncated (RFC 1035 §4.2.1, RFC 7766 §5).</item>
/// <item>Every answer is Ok, NoData (the name exists without records of the type, RFC 2308 §2.2),
/// NxDomain (RCODE 3, RFC 1035 §4.1.1) or TempFail (SERVFAIL, REFUSED, any other RCODE, timeout, network
/// error). A temporary failure is never reported as "not found".</item>
/// <item>One TTL cache: positive answers live for the smallest TTL of the answer section (RFC 2181 §5.2),
/// negative ones for min(SOA TTL, SOA MINIMUM) of the authority section (RFC 2308 §5) or
/// <see cref="DnsResolverOptions.DefaultNegativeTtl"/>, temporary failures only for
/// <see cref="DnsResolverOptions.TempFailTtl"/>. Concurrent identical queries share one server query.</item>
/// </list>
/// Names are absolute: no search list is applied. Non-ASCII names must be given as A-labels (RFC 5890).
/// </summary>
public sealed class DnsResolver : IDnsResolver
{
    private readonly LookupClient _client;
    private readonly DnsCache _cache;
    private readonly ConcurrentDictionary<(string Name, ushort Type), Lazy<Task<object>>> _inFlight = new();
    private readonly NameServerHealth _health;
    private readonly IReadOnlyList<IPEndPoint> _servers;

    public DnsResolver(DnsResolverOptions options, TimeProvider? time = null)
    {
        Options = options;
        var clientOptions = options.Servers.Count == 0
            ? new LookupClientOptions() // resolv.conf name servers
            : new LookupClientOptions(options.Servers.ToArray());
        clientOptions.Timeout = options.Timeout;
        clientOptions.Retries = Math.Max(0, options.Retries);
        clientOptions.UseTcpFallback = true;
        clientOptions.UseCache = false;               // our cache keeps negative answers and failures apart
        clientOptions.ThrowDnsErrors = false;         // RCODEs are classified below, not thrown
        clientOptions.ContinueOnDnsError = true;      // SERVFAIL from one server: ask the next
        clientOptions.ContinueOnEmptyResponse = false; // NoData is a definite answer
        clientOptions.UseRandomNameServer = false;    // resolv.conf order: the first server first
        clientOptions.Recursion = true;
        _client = new LookupClient(clientOptions);
        _cache = new DnsCache(time ?? TimeProvider.System, options.MaxCacheEntries);
        _health = new NameServerHealth(time ?? TimeProvider.System);
        _servers = NameServers;
    }

    /// <summary>A resolver configured from dns_servers and dns_timeout.</summary>
    public static DnsResolver FromParameters(Parameters parameters, TimeProvider? time = null)
        => new(DnsResolverOptions.FromParameters(parameters), time);

    public DnsResolverOptions Options { get; }

    /// <summary>The servers actually queried (from the options, or discovered from the system).</summary>
    public IReadOnlyList<IPEndPoint> NameServers
        => _client.NameServers.Select(n => new IPEndPoint(IPAddress.Parse(n.Address), n.Port)).ToArray();

    /// <summary>Number of cached answers (for diagnostics and tests).</summary>
    public int CachedAnswerCount => _cache.Count;

    /// <summary>Forgets every cached answer.</summary>
    public void ClearCache() => _cache.Clear();

    public ValueTask<DnsAnswer<string>> LookupPtrAsync(IPAddress address, CancellationToken ct = default)
        => QueryAsync(ReverseDomainName.Arpa(address), QueryType.PTR,
            static r => r.Answers.PtrRecords().Select(p => HostName(p.PtrDomainName.Value)).ToArray(), ct);

    public async ValueTask<DnsAnswer<IPAddress>> LookupAddressesAsync(string name, CancellationToken ct = default)
    {
        var a = QueryAsync(name, QueryType.A, static r => r.Answers.ARecords().Select(x => x.Address).ToArray(), ct).AsTask();
        var aaaa = QueryAsync(name, QueryType.AAAA, static r => r.Answers.AaaaRecords().Select(x => x.Address).ToArray(), ct).AsTask();
        await Task.WhenAll(a, aaaa).ConfigureAwait(false);
        return CombineAddresses(a.Result, aaaa.Result);
    }

    /// <summary>MX records sorted by preference (RFC 5321 §5.1); a null MX keeps its "." exchange (RFC 7505 §3).</summary>
    public ValueTask<DnsAnswer<MxRecord>> LookupMxAsync(string domain, CancellationToken ct = default)
        => QueryAsync(domain, QueryType.MX,
            static r => r.Answers.MxRecords()
                .Select(m => new MxRecord(m.Preference, HostName(m.Exchange.Value)))
                .OrderBy(m => m.Preference)
                .ToArray(), ct);

    /// <summary>One string per TXT record, its character-strings joined without separators (RFC 7208 §3.3).</summary>
    public ValueTask<DnsAnswer<string>> LookupTxtAsync(string name, CancellationToken ct = default)
        => QueryAsync(name, QueryType.TXT, static r => r.Answers.TxtRecords().Select(t => string.Concat(t.Text)).ToArray(), ct);

    /// <summary>
    /// A and AAAA together: Ok if either has addresses; else TempFail if either failed temporarily;
    /// else NxDomain when both say so; else NoData.
    /// </summary>
    internal static DnsAnswer<IPAddress> CombineAddresses(DnsAnswer<IPAddress> a, DnsAnswer<IPAddress> aaaa)
    {
        if (a.Found || aaaa.Found)
            return new DnsAnswer<IPAddress>(DnsStatus.Ok, [.. a.Records, .. aaaa.Records]);
        if (a.Status == DnsStatus.TempFail || aaaa.Status == DnsStatus.TempFail)
            return DnsAnswer<IPAddress>.Temp(a.Error ?? aaaa.Error ?? "temporary failure");
        if (a.Status == DnsStatus.NxDomain && aaaa.Status == DnsStatus.NxDomain)
            return new DnsAnswer<IPAddress>(DnsStatus.NxDomain, [], a.Error);
        return new DnsAnswer<IPAddress>(DnsStatus.NoData, []);
    }

    private async ValueTask<DnsAnswer<T>> QueryAsync<T>(string name, QueryType type, Func<IDnsQueryResponse, T[]> extract, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (!DnsName.TryNormalize(name, out var normalized))
            return new DnsAnswer<T>(DnsStatus.NxDomain, [], $"invalid domain name \"{name}\"");
        var key = (normalized, (ushort)type);
        if (_cache.TryGet(key, out var cached)) return (DnsAnswer<T>)cached;

        // One server query per key at a time; waiters may give up (ct) without cancelling it.
        var lazy = _inFlight.GetOrAdd(key, k => new Lazy<Task<object>>(() => FetchAsync(k, type, extract)));
        var answer = await lazy.Value.WaitAsync(ct).ConfigureAwait(false);
        return (DnsAnswer<T>)answer;
    }

    private async Task<object> FetchAsync<T>((string Name, ushort Type) key, QueryType type, Func<IDnsQueryResponse, T[]> extract)
    {
        try
        {
            var (answer, ttl) = await AskServerAsync(key.Name, type, extract).ConfigureAwait(false);
            _cache.Set(key, answer, ttl);
            return answer;
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    private async Task<(DnsAnswer<T> Answer, TimeSpan Ttl)> AskServerAsync<T>(string name, QueryType type, Func<IDnsQueryResponse, T[]> extract)
    {
        // Servers known to refuse (ICMP unreachable) are skipped; with none left the answer is at once "try later".
        var servers = _health.Usable(_servers);
        if (servers.Count == 0)
            return (DnsAnswer<T>.Temp($"{type} {name}: no name server reachable ({string.Join(", ", _servers)})"), Options.TempFailTtl);
        IDnsQueryResponse response;
        using var cts = new CancellationTokenSource();
        if (Options.Deadline is { } deadline) cts.CancelAfter(deadline);
        try
        {
            // The trailing dot makes the name absolute (RFC 1034 §3.1).
            var query = _client.QueryServerAsync(servers.Select(s => new NameServer(s)).ToArray(), name + ".", type, QueryClass.IN, cts.Token);
            var allDead = _health.AllDeadAsync(servers, Options.Timeout, cts.Token);
            if (await Task.WhenAny(query, allDead).ConfigureAwait(false) == allDead && await allDead.ConfigureAwait(false))
            {
                await cts.CancelAsync().ConfigureAwait(false);
                _ = query.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);   // observe its end
                return (DnsAnswer<T>.Temp($"{type} {name}: no name server reachable ({string.Join(", ", servers)})"), Options.TempFailTtl);
            }
            response = await query.ConfigureAwait(false);
        }
        catch (DnsResponseException e)
        {
            return (DnsAnswer<T>.Temp($"{type} {name}: {e.DnsError}"), Options.TempFailTtl);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return (DnsAnswer<T>.Temp($"{type} {name}: no answer within {Options.Deadline?.TotalSeconds}s"), Options.TempFailTtl);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Timeouts, socket and parse errors: never "not found".
            return (DnsAnswer<T>.Temp($"{type} {name}: {e.GetType().Name}: {e.Message}"), Options.TempFailTtl);
        }

        switch (response.Header.ResponseCode)
        {
            case DnsHeaderResponseCode.NoError:
                var records = extract(response);
                if (records.Length > 0)
                    return (new DnsAnswer<T>(DnsStatus.Ok, records), PositiveTtl(response));
                // NODATA: NOERROR with no record of the asked type (RFC 2308 §2.2).
                return (new DnsAnswer<T>(DnsStatus.NoData, []), NegativeTtl(response));
            case DnsHeaderResponseCode.NotExistentDomain:
                // Name Error (RFC 1035 §4.1.1, RFC 2308 §2.1).
                return (new DnsAnswer<T>(DnsStatus.NxDomain, [], $"{type} {name}: NXDOMAIN"), NegativeTtl(response));
            default:
                // SERVFAIL (RFC 2308 §7.1), REFUSED, FORMERR, NOTIMP and the rest: try again later.
                return (DnsAnswer<T>.Temp($"{type} {name}: {response.Header.ResponseCode} from {response.NameServer}"), Options.TempFailTtl);
        }
    }

    private TimeSpan PositiveTtl(IDnsQueryResponse response)
    {
        // The smallest TTL of the answer section, CNAMEs included (RFC 2181 §5.2, RFC 1034 §4.3.2).
        long seconds = response.Answers.Count == 0 ? 0 : response.Answers.Min(r => (long)r.TimeToLive);
        var ttl = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return ttl > Options.MaxTtl ? Options.MaxTtl : ttl;
    }

    private TimeSpan NegativeTtl(IDnsQueryResponse response)
    {
        // RFC 2308 §5: the lesser of the SOA's own TTL and its MINIMUM field.
        var soa = response.Authorities.SoaRecords().FirstOrDefault();
        var ttl = soa is null
            ? Options.DefaultNegativeTtl
            : TimeSpan.FromSeconds(Math.Max(0, Math.Min((long)soa.TimeToLive, (long)soa.Minimum)));
        return ttl > Options.MaxNegativeTtl ? Options.MaxNegativeTtl : ttl;
    }

    /// <summary>"mx.example." → "mx.example"; the root stays "." (RFC 7505 §3).</summary>
    private static string HostName(string value)
        => value == "." ? "." : value.EndsWith('.') ? value[..^1] : value;
}
