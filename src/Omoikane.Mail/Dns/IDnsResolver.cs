using System.Net;

namespace Omoikane.Mail.Dns;

/// <summary>NXDOMAIN and "no data" are definite answers; TempFail is SERVFAIL, timeout, refused.</summary>
public enum DnsStatus { Ok, NxDomain, NoData, TempFail }

public sealed record DnsAnswer<T>(DnsStatus Status, IReadOnlyList<T> Records, string? Error = null)
{
    public bool Found => Status == DnsStatus.Ok && Records.Count > 0;
    public static DnsAnswer<T> Temp(string error) => new(DnsStatus.TempFail, Array.Empty<T>(), error);
}

public sealed record MxRecord(int Preference, string Exchange);

/// <summary>The one resolver of the process (see docs: dns_servers). All checks go through it.</summary>
public interface IDnsResolver
{
    ValueTask<DnsAnswer<string>> LookupPtrAsync(IPAddress address, CancellationToken ct = default);
    /// <summary>A and AAAA records of a name.</summary>
    ValueTask<DnsAnswer<IPAddress>> LookupAddressesAsync(string name, CancellationToken ct = default);
    ValueTask<DnsAnswer<MxRecord>> LookupMxAsync(string domain, CancellationToken ct = default);
    ValueTask<DnsAnswer<string>> LookupTxtAsync(string name, CancellationToken ct = default);
}
