using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>
/// Chooses the next hop of a remote recipient as Postfix's trivial-rewrite does: transport_maps first
/// (keys: the full address, the domain, each parent domain as ".parent", then "*"; transport(5)), then
/// relayhost, then the recipient domain itself (MX lookup). Entries are "transport:nexthop":
/// "smtp:[host]:port", "smtp:host", "smtp:" (the recipient domain), "local:", and Postfix's error(8),
/// retry and discard(8) transports: "error:5.7.1 text", "retry:4.3.0 text", "discard:text", whose next hop is
/// the reason (an optional RFC 3463 status first; an empty one is the recipient domain, as trivial-rewrite fills it in).
/// </summary>
public sealed class NextHopResolver
{
    private readonly IReadOnlyList<ILookupTable> _transportMaps;
    private readonly NextHop? _relayhost;
    private readonly int _mxPort;

    public NextHopResolver(IReadOnlyList<ILookupTable> transportMaps, string relayhost, int mxPort)
    {
        _transportMaps = transportMaps;
        _mxPort = mxPort;
        // relayhost uses port 25 unless it names one; smtp_mx_port only moves MX/A deliveries.
        _relayhost = relayhost.Length == 0 ? null : NextHop.ParseSmtp(relayhost, 25);
    }

    public async ValueTask<NextHop> ResolveAsync(string recipient, CancellationToken ct)
    {
        var at = recipient.LastIndexOf('@');
        var domain = (at < 0 ? "" : recipient[(at + 1)..]).TrimEnd('.').ToLowerInvariant();
        foreach (var key in Keys(recipient.ToLowerInvariant(), domain))
        {
            foreach (var table in _transportMaps)
            {
                var r = await table.LookupAsync(key, ct).ConfigureAwait(false);
                if (r.Status == LookupStatus.TempFail)
                    return new NextHop(NextHopKind.TempFail, "", 0, false, $"transport table {table.Name} lookup error");
                if (r.Status == LookupStatus.Found && r.Value is { } value)
                    return FromEntry(value.Trim(), domain);
            }
        }
        return _relayhost ?? new NextHop(NextHopKind.Smtp, domain, _mxPort, true);
    }

    private static IEnumerable<string> Keys(string address, string domain)
    {
        yield return address;
        if (domain.Length == 0) { yield return "*"; yield break; }
        yield return domain;
        // transport(5): ".example.com" matches subdomains of example.com.
        var d = domain;
        while (true)
        {
            yield return "." + d;
            var dot = d.IndexOf('.');
            if (dot < 0) break;
            d = d[(dot + 1)..];
        }
        yield return "*";
    }

    private static NextHop Reason(NextHopKind kind, string defaultDsn, string nexthop, string domain)
    {
        var (dsn, text) = NextHop.SplitDsn(nexthop.Length > 0 ? nexthop : domain, "");
        return new NextHop(kind, "", 0, false, text, dsn.Length > 0 ? dsn : defaultDsn, dsn.Length > 0);
    }

    /// <summary>"transport:nexthop"; an empty transport means default_transport (smtp), an empty nexthop the domain.</summary>
    private NextHop FromEntry(string entry, string domain)
    {
        var colon = entry.IndexOf(':');
        var transport = (colon < 0 ? entry : entry[..colon]).Trim().ToLowerInvariant();
        var nexthop = colon < 0 ? "" : entry[(colon + 1)..].Trim();
        switch (transport)
        {
            case "error":
                return Reason(NextHopKind.Error, "5.0.0", nexthop, domain);
            case "retry":
                return Reason(NextHopKind.Retry, "4.0.0", nexthop, domain);
            case "discard":
                return Reason(NextHopKind.Discard, "2.0.0", nexthop, domain);
            case "local":
            case "virtual":
                return new NextHop(NextHopKind.Local, domain, 0, false);
            case "":
            case "smtp":
            case "relay":
                if (nexthop.Length == 0) return _relayhost ?? new NextHop(NextHopKind.Smtp, domain, _mxPort, true);
                // A host given without brackets is looked up by MX on the usual port; a port given wins.
                var hop = NextHop.ParseSmtp(nexthop, 25);
                if (hop is null) return new NextHop(NextHopKind.TempFail, "", 0, false, $"bad transport_maps next hop \"{nexthop}\"");
                return hop.UseMx && !nexthop.Contains(':') ? hop with { Port = _mxPort } : hop;
            default:
                return new NextHop(NextHopKind.TempFail, "", 0, false, $"mail transport unavailable: unknown transport \"{transport}\"");
        }
    }
}
