using System.Net;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Tests.Policy;

/// <summary>An in-memory resolver: names not configured are NXDOMAIN; names in TempFail answer SERVFAIL.</summary>
internal sealed class FakeDnsResolver : IDnsResolver
{
    public Dictionary<string, List<string>> Ptr { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, List<IPAddress>> Addresses { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, List<MxRecord>> Mx { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, List<string>> Txt { get; } = new(StringComparer.OrdinalIgnoreCase);
    public HashSet<string> TempFail { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<string> Queries { get; } = new();

    public FakeDnsResolver WithHost(string name, params string[] addresses)
    {
        Addresses[name] = addresses.Select(IPAddress.Parse).ToList();
        return this;
    }

    private static DnsAnswer<T> Answer<T>(Dictionary<string, List<T>> map, HashSet<string> temp, string key)
    {
        if (temp.Contains(key)) return DnsAnswer<T>.Temp("SERVFAIL");
        return map.TryGetValue(key, out var v) ? new DnsAnswer<T>(DnsStatus.Ok, v) : new DnsAnswer<T>(DnsStatus.NxDomain, []);
    }

    public ValueTask<DnsAnswer<string>> LookupPtrAsync(IPAddress address, CancellationToken ct = default)
    {
        Queries.Add("PTR " + address);
        return ValueTask.FromResult(Answer(Ptr, TempFail, address.ToString()));
    }

    public ValueTask<DnsAnswer<IPAddress>> LookupAddressesAsync(string name, CancellationToken ct = default)
    {
        Queries.Add("A " + name);
        return ValueTask.FromResult(Answer(Addresses, TempFail, name));
    }

    public ValueTask<DnsAnswer<MxRecord>> LookupMxAsync(string domain, CancellationToken ct = default)
    {
        Queries.Add("MX " + domain);
        return ValueTask.FromResult(Answer(Mx, TempFail, domain));
    }

    public ValueTask<DnsAnswer<string>> LookupTxtAsync(string name, CancellationToken ct = default)
    {
        Queries.Add("TXT " + name);
        return ValueTask.FromResult(Answer(Txt, TempFail, name));
    }
}
