using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.Dns;

/// <summary>
/// An in-memory resolver for policy unit tests (no sockets). Names without data answer NXDOMAIN;
/// a name with data of other types answers NoData. <see cref="SetStatus"/> forces NXDOMAIN, NoData or
/// TempFail for a name, for all types or just one. Thread-safe; counts queries per name.
/// </summary>
public sealed class StaticDnsResolver : IDnsResolver
{
    private readonly object _lock = new();
    private readonly Dictionary<(string Name, DnsRecordType Type), List<object>> _records = new();
    private readonly Dictionary<(string Name, DnsRecordType? Type), DnsStatus> _forced = new();
    private readonly Dictionary<string, int> _queries = new(StringComparer.Ordinal);

    /// <summary>Adds A or AAAA records (by address family).</summary>
    public StaticDnsResolver AddAddress(string name, params string[] addresses)
    {
        foreach (var a in addresses) AddAddress(name, IPAddress.Parse(a));
        return this;
    }

    public StaticDnsResolver AddAddress(string name, IPAddress address)
        => Add(name, address.AddressFamily == AddressFamily.InterNetwork ? DnsRecordType.A : DnsRecordType.Aaaa, address);

    /// <summary>Adds PTR names for an address (owner: its in-addr.arpa / ip6.arpa name).</summary>
    public StaticDnsResolver AddPtr(string address, params string[] names)
    {
        foreach (var n in names) Add(ReverseDomainName.Arpa(IPAddress.Parse(address)), DnsRecordType.Ptr, n);
        return this;
    }

    public StaticDnsResolver AddMx(string domain, int preference, string exchange)
        => Add(domain, DnsRecordType.Mx, new MxRecord(preference, exchange == "." ? "." : exchange.TrimEnd('.')));

    /// <summary>Publishes "0 ." (RFC 7505 §3).</summary>
    public StaticDnsResolver AddNullMx(string domain) => AddMx(domain, 0, ".");

    public StaticDnsResolver AddTxt(string name, string text) => Add(name, DnsRecordType.Txt, text);

    /// <summary>
    /// Forces an outcome for a name: NxDomain, NoData or TempFail (Ok removes the override). With a type,
    /// only queries of that type are affected. For PTR, pass the address as its arpa name or use
    /// <see cref="SetPtrStatus"/>.
    /// </summary>
    public StaticDnsResolver SetStatus(string name, DnsStatus status, DnsRecordType? type = null)
    {
        lock (_lock)
        {
            var key = (Key(name), type);
            if (status == DnsStatus.Ok) _forced.Remove(key);
            else _forced[key] = status;
        }
        return this;
    }

    public StaticDnsResolver SetPtrStatus(string address, DnsStatus status)
        => SetStatus(ReverseDomainName.Arpa(IPAddress.Parse(address)), status, DnsRecordType.Ptr);

    /// <summary>Queries seen for a name (any type; PTR queries count under the arpa name).</summary>
    public int QueryCount(string name)
    {
        lock (_lock) return _queries.GetValueOrDefault(Key(name));
    }

    public ValueTask<DnsAnswer<string>> LookupPtrAsync(IPAddress address, CancellationToken ct = default)
        => ValueTask.FromResult(Lookup<string>(ReverseDomainName.Arpa(address), DnsRecordType.Ptr));

    public ValueTask<DnsAnswer<IPAddress>> LookupAddressesAsync(string name, CancellationToken ct = default)
    {
        var a = Lookup<IPAddress>(name, DnsRecordType.A);
        var aaaa = Lookup<IPAddress>(name, DnsRecordType.Aaaa);
        return ValueTask.FromResult(DnsResolver.CombineAddresses(a, aaaa));
    }

    public ValueTask<DnsAnswer<MxRecord>> LookupMxAsync(string domain, CancellationToken ct = default)
    {
        var answer = Lookup<MxRecord>(domain, DnsRecordType.Mx);
        return ValueTask.FromResult(answer with { Records = answer.Records.OrderBy(m => m.Preference).ToArray() });
    }

    public ValueTask<DnsAnswer<string>> LookupTxtAsync(string name, CancellationToken ct = default)
        => ValueTask.FromResult(Lookup<string>(name, DnsRecordType.Txt));

    private StaticDnsResolver Add(string name, DnsRecordType type, object value)
    {
        lock (_lock)
        {
            var key = (Key(name), type);
            if (!_records.TryGetValue(key, out var list)) _records[key] = list = new List<object>();
            list.Add(value);
        }
        return this;
    }

    private DnsAnswer<T> Lookup<T>(string name, DnsRecordType type)
    {
        var key = Key(name);
        lock (_lock)
        {
            _queries[key] = _queries.GetValueOrDefault(key) + 1;
            if (_forced.TryGetValue((key, type), out var status) || _forced.TryGetValue((key, null), out status))
                return status == DnsStatus.TempFail
                    ? DnsAnswer<T>.Temp($"{type} {key}: SERVFAIL (static)")
                    : new DnsAnswer<T>(status, []);
            if (_records.TryGetValue((key, type), out var list) && list.Count > 0)
                return new DnsAnswer<T>(DnsStatus.Ok, list.Cast<T>().ToArray());
            bool exists = _records.Keys.Any(k => k.Name == key);
            return new DnsAnswer<T>(exists ? DnsStatus.NoData : DnsStatus.NxDomain, []);
        }
    }

    private static string Key(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();
}
