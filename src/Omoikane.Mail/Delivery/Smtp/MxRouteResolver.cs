using System.Net;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>
/// Turns a next hop into addresses to try (RFC 5321 §5.1): MX records sorted by preference with equal
/// preferences shuffled; no MX records → the domain's own A/AAAA ("implicit MX"); a null MX (RFC 7505 §3)
/// → the domain accepts no mail. A "[host]" next hop skips the MX lookup. Texts are Postfix's.
/// </summary>
public sealed class MxRouteResolver
{
    private readonly IDnsResolver _dns;
    private readonly Random _random;

    public MxRouteResolver(IDnsResolver dns, Random? random = null)
    {
        _dns = dns;
        _random = random ?? Random.Shared;
    }

    public async ValueTask<MxRoute> ResolveAsync(NextHop hop, CancellationToken ct)
    {
        if (IPAddress.TryParse(hop.Host, out var literal))
            return new MxRoute([new MxTarget(hop.Host, literal, hop.Port)]);
        if (!hop.UseMx)
            return await HostAsync(hop.Host, hop.Port, ct).ConfigureAwait(false);

        var mx = await _dns.LookupMxAsync(hop.Host, ct).ConfigureAwait(false);
        switch (mx.Status)
        {
            case DnsStatus.TempFail:
                return MxRoute.Fail(DeliveryStatus.Deferred, "4.4.3",
                    $"Host or domain name not found. Name service error for name={hop.Host} type=MX: Host not found, try again");
            case DnsStatus.NxDomain:
                return MxRoute.Fail(DeliveryStatus.Bounced, "5.4.4",
                    $"Host or domain name not found. Name service error for name={hop.Host} type=MX: Host not found");
            case DnsStatus.NoData:
                return await HostAsync(hop.Host, hop.Port, ct).ConfigureAwait(false);
        }
        if (mx.Records.Count == 0) return await HostAsync(hop.Host, hop.Port, ct).ConfigureAwait(false);
        // RFC 7505 §3: a single MX with the root as exchange says the domain accepts no mail.
        if (mx.Records.Any(r => r.IsNullExchange))
            return MxRoute.Fail(DeliveryStatus.Bounced, "5.1.10", $"Domain {hop.Host} does not accept mail (nullMX)");

        // RFC 5321 §5.1: lowest preference first; hosts of equal preference in random order.
        var ordered = mx.Records
            .GroupBy(r => r.Preference).OrderBy(g => g.Key)
            .SelectMany(g => g.OrderBy(_ => _random.Next()))
            .Select(r => r.Exchange.TrimEnd('.').ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var targets = new List<MxTarget>();
        var anyTemp = false;
        foreach (var host in ordered)
        {
            if (IPAddress.TryParse(host, out var ip)) { targets.Add(new MxTarget(host, ip, hop.Port)); continue; }
            var a = await _dns.LookupAddressesAsync(host, ct).ConfigureAwait(false);
            if (a.Status == DnsStatus.TempFail) anyTemp = true;
            foreach (var addr in a.Records) targets.Add(new MxTarget(host, DnsAddress.Normalize(addr), hop.Port));
        }
        if (targets.Count > 0) return new MxRoute(targets);
        if (anyTemp)
            return MxRoute.Fail(DeliveryStatus.Deferred, "4.4.3", $"Host or domain name not found. Name service error for name={ordered[0]} type=A: Host not found, try again");
        return MxRoute.Fail(DeliveryStatus.Deferred, "4.4.4", $"Host or domain name not found. Name service error for name={ordered[0]} type=A: Host not found");
    }

    private async ValueTask<MxRoute> HostAsync(string host, int port, CancellationToken ct)
    {
        var a = await _dns.LookupAddressesAsync(host, ct).ConfigureAwait(false);
        if (a.Status == DnsStatus.TempFail)
            return MxRoute.Fail(DeliveryStatus.Deferred, "4.4.3", $"Host or domain name not found. Name service error for name={host} type=A: Host not found, try again");
        if (a.Records.Count == 0)
            return MxRoute.Fail(DeliveryStatus.Bounced, "5.4.4", $"Host or domain name not found. Name service error for name={host} type=A: Host not found");
        return new MxRoute(a.Records.Select(ip => new MxTarget(host, DnsAddress.Normalize(ip), port)).ToList());
    }
}
