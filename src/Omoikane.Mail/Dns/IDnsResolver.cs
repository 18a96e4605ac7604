using System.Net;

namespace Omoikane.Mail.Dns;

/// <summary>NXDOMAIN and "no data" are definite answers; TempFail is SERVFAIL, timeout, refused.</summary>
public enum DnsStatus { Ok, NxDomain, NoData, TempFail }

public sealed record DnsAnswer<T>(DnsStatus Status, IReadOnlyList<T> Records, string? Error = null)
{
    public bool Found => Status == DnsStatus.Ok && Records.Count > 0;
    public static DnsAnswer<T> Temp(string error) => new(DnsStatus.TempFail, Array.Empty<T>(), error);
}

/// <summary>One MX record; Exchange has no trailing dot, except the root "." of a null MX (RFC 7505 §3).</summary>
public sealed record MxRecord(int Preference, string Exchange)
{
    /// <summary>True when the exchange is the root name ".", which no one can deliver to (RFC 7505 §3).</summary>
    public bool IsNullExchange => Exchange == ".";

    /// <summary>"10 mx.example.com", as in zone files (and in explain's DNS answers).</summary>
    public override string ToString() => $"{Preference} {Exchange}";
}

/// <summary>The one resolver of the process (see docs: dns_servers). All checks go through it.</summary>
public interface IDnsResolver
{
    ValueTask<DnsAnswer<string>> LookupPtrAsync(IPAddress address, CancellationToken ct = default);
    /// <summary>A and AAAA records of a name.</summary>
    ValueTask<DnsAnswer<IPAddress>> LookupAddressesAsync(string name, CancellationToken ct = default);
    ValueTask<DnsAnswer<MxRecord>> LookupMxAsync(string domain, CancellationToken ct = default);
    ValueTask<DnsAnswer<string>> LookupTxtAsync(string name, CancellationToken ct = default);
}
