using System.Net;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>
/// Which domains are ours: mydestination (final delivery here, with $myhostname etc. expanded) and
/// relay_domains (postconf(5)). Entries are domain names, ".domain" (subdomains), or lookup tables.
/// relay_domains entries also match subdomains when "relay_domains" is in
/// parent_domain_matches_subdomains (the Postfix default). Address literals are local only when
/// they name one of the server's own addresses.
/// </summary>
public sealed class DomainClassifier
{
    private readonly DomainList _local;
    private readonly DomainList _relay;
    private readonly IReadOnlySet<IPAddress> _localAddresses;

    public DomainClassifier(Parameters parameters, TableFactory tables, ConfigDiagnostics diagnostics, IEnumerable<IPAddress>? localAddresses = null)
    {
        var file = parameters.Source("mydestination")?.File ?? "main.cf";
        _local = new DomainList(parameters.GetList("mydestination"), false, tables, diagnostics, file, parameters.Source("mydestination")?.Line ?? 0);
        _relay = new DomainList(parameters.GetList("relay_domains"), ParentMatching.Matches(parameters, "relay_domains"), tables, diagnostics,
            parameters.Source("relay_domains")?.File ?? "main.cf", parameters.Source("relay_domains")?.Line ?? 0);
        _localAddresses = AddressLiteral.Set(localAddresses);
    }

    /// <summary>Found when the domain (any case, trailing dot allowed) is in mydestination or is an own address literal.</summary>
    public ValueTask<LookupStatus> IsLocalDomainAsync(string domain, CancellationToken ct = default)
    {
        var d = Normalize(domain);
        if (d.StartsWith('['))
            return ValueTask.FromResult(IsLocalAddressLiteral(d) ? LookupStatus.Found : LookupStatus.NotFound);
        return _local.MatchAsync(d, ct);
    }

    /// <summary>The mydestination entries that are plain names (canonical form), in the order given.</summary>
    public IReadOnlyList<string> LocalNames => _local.Names;

    public ValueTask<LookupStatus> IsRelayDomainAsync(string domain, CancellationToken ct = default)
    {
        var d = Normalize(domain);
        return d.StartsWith('[') ? ValueTask.FromResult(LookupStatus.NotFound) : _relay.MatchAsync(d, ct);
    }

    /// <summary>"[192.0.2.1]" or "[IPv6:2001:db8::1]" naming one of the server's own addresses.</summary>
    public bool IsLocalAddressLiteral(string literal) => AddressLiteral.IsOneOf(literal, _localAddresses);

    private static string Normalize(string domain) => AddressKey.Domain(domain);

    private sealed class DomainList
    {
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private readonly List<string> _ordered = new();
        private readonly List<string> _dotted = new();
        private readonly List<ILookupTable> _tables = new();
        private readonly bool _parentMatches;

        public DomainList(IReadOnlyList<string> entries, bool parentMatches, TableFactory tables, ConfigDiagnostics diagnostics, string file, int line)
        {
            _parentMatches = parentMatches;
            foreach (var e in entries)
            {
                if (TableFactory.LooksLikeTable(e))
                {
                    if (tables.Create(e, diagnostics, file, line) is { } t) _tables.Add(t);
                }
                else if (e.StartsWith('.')) _dotted.Add(AddressKey.Domain(e));
                else if (_names.Add(AddressKey.Domain(e))) _ordered.Add(AddressKey.Domain(e));
            }
        }

        public IReadOnlyList<string> Names => _ordered;

        public async ValueTask<LookupStatus> MatchAsync(string domain, CancellationToken ct)
        {
            if (domain.Length == 0) return LookupStatus.NotFound;
            if (_names.Contains(domain)) return LookupStatus.Found;
            foreach (var d in _dotted)
                if (domain.EndsWith(d, StringComparison.Ordinal)) return LookupStatus.Found;
            if (_parentMatches)
                foreach (var n in _names)
                    if (domain.EndsWith("." + n, StringComparison.Ordinal)) return LookupStatus.Found;
            foreach (var t in _tables)
            {
                // Match lists look up the name, then (for parent matching) each parent domain.
                for (var name = domain; name.Length > 0;)
                {
                    var r = await t.LookupAsync(name, ct).ConfigureAwait(false);
                    if (r.Status != LookupStatus.NotFound) return r.Status;
                    if (!_parentMatches || t is IPatternTable) break;
                    var dot = name.IndexOf('.');
                    if (dot < 0) break;
                    name = name[(dot + 1)..];
                }
            }
            return LookupStatus.NotFound;
        }
    }
}
