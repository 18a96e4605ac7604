using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Authentication.Spf;

/// <summary>
/// check_host() of RFC 7208 over the shared resolver: mechanisms all, include, a, mx, ptr, ip4, ip6, exists,
/// the redirect modifier, macros (§7), the limit of 10 DNS-querying terms and 2 void lookups (§4.6.4).
/// A DNS temporary failure is temperror, never fail. The exp= modifier is parsed but not fetched
/// (the explanation only matters to a receiver that rejects on SPF, which Omoikane does not).
/// </summary>
public sealed partial class SpfChecker
{
    /// <summary>Terms that cause DNS queries, per evaluation (RFC 7208 §4.6.4).</summary>
    public const int DnsLookupLimit = 10;
    /// <summary>Lookups answered with NXDOMAIN or no records (RFC 7208 §4.6.4).</summary>
    public const int VoidLookupLimit = 2;
    /// <summary>MX names or PTR names looked at by one mx or ptr mechanism (RFC 7208 §4.6.4).</summary>
    public const int NameLimit = 10;

    private readonly IDnsResolver _dns;
    private readonly string _receiver;

    public SpfChecker(IDnsResolver dns, string receiver)
    {
        _dns = dns; _receiver = receiver;
    }

    /// <summary>
    /// Checks the MAIL FROM identity, or postmaster@HELO when the reverse path is null (RFC 7208 §2.4).
    /// </summary>
    public async ValueTask<SpfOutcome> CheckAsync(IPAddress client, string mailFrom, string helo, CancellationToken ct = default)
    {
        var fromHelo = mailFrom.Length == 0;
        var identity = fromHelo ? "postmaster@" + helo : mailFrom;
        var at = identity.LastIndexOf('@');
        if (at < 0) { identity = "postmaster@" + identity; at = identity.LastIndexOf('@'); }
        var local = at == 0 ? "postmaster" : identity[..at];
        var domain = identity[(at + 1)..].TrimEnd('.').ToLowerInvariant();
        var state = new Evaluation(DnsAddress.Normalize(client), identity, local, domain, helo);
        var (result, reason) = await CheckHostAsync(state, domain, nested: false, ct).ConfigureAwait(false);
        return new SpfOutcome(result, identity, domain, fromHelo, reason);
    }

    private sealed class Evaluation(IPAddress client, string sender, string local, string senderDomain, string helo)
    {
        public IPAddress Client { get; } = client;
        public string Sender { get; } = sender;
        public string Local { get; } = local;
        public string SenderDomain { get; } = senderDomain;
        public string Helo { get; } = helo;
        public int Lookups;
        public int VoidLookups;
    }

    private readonly record struct Term(char Qualifier, string Name, string? Argument, bool IsModifier);

    private async ValueTask<(SpfResult, string)> CheckHostAsync(Evaluation state, string domain, bool nested, CancellationToken ct)
    {
        // RFC 7208 §4.3: a domain that is not a multi-label FQDN gives "none".
        if (!IsValidDomain(domain)) return (SpfResult.None, $"invalid domain {domain}");
        var txt = await _dns.LookupTxtAsync(domain, ct).ConfigureAwait(false);
        if (txt.Status == DnsStatus.TempFail) return (SpfResult.TempError, $"DNS temporary failure looking up {domain}");
        if (txt.Status != DnsStatus.Ok || txt.Records.Count == 0)
        {
            if (nested && ++state.VoidLookups > VoidLookupLimit) return (SpfResult.PermError, "too many void DNS lookups");
            return (SpfResult.None, $"no SPF record for {domain}");
        }
        // RFC 7208 §4.5: "v=spf1" exactly, followed by a space or the end; more than one record is permerror.
        var records = txt.Records.Where(IsSpfRecord).ToList();
        if (records.Count == 0) return (SpfResult.None, $"no SPF record for {domain}");
        if (records.Count > 1) return (SpfResult.PermError, $"more than one SPF record for {domain}");
        return await EvaluateAsync(state, domain, records[0], ct).ConfigureAwait(false);
    }

    internal static bool IsSpfRecord(string text)
        => text.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase) && (text.Length == 6 || text[6] == ' ');

    private async ValueTask<(SpfResult, string)> EvaluateAsync(Evaluation state, string domain, string record, CancellationToken ct)
    {
        // Parse every term first: a syntax error anywhere is permerror (RFC 7208 §4.6).
        var terms = new List<Term>();
        string? redirect = null;
        foreach (var word in record.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var term = ParseTerm(word);
            if (term is not { } t) return (SpfResult.PermError, $"syntax error in SPF record of {domain}: {word}");
            if (t.IsModifier)
            {
                if (t.Name == "redirect")
                {
                    if (redirect is not null) return (SpfResult.PermError, "more than one redirect modifier");
                    redirect = t.Argument;
                }
                continue; // exp and unknown modifiers are ignored (RFC 7208 §6)
            }
            terms.Add(t);
        }
        foreach (var t in terms)
        {
            var (match, error, reason) = await MatchAsync(state, domain, t, ct).ConfigureAwait(false);
            if (error is { } e) return (e, reason);
            if (match) return (QualifierResult(t.Qualifier), $"{domain}: matched {t.Qualifier}{t.Name}{(t.Argument is null ? "" : ":" + t.Argument)}");
        }
        if (redirect is not null)
        {
            // RFC 7208 §6.1: redirect counts as a DNS lookup; a target without a record is permerror.
            if (++state.Lookups > DnsLookupLimit) return (SpfResult.PermError, "too many DNS lookups");
            var target = Expand(redirect, state, domain);
            if (target is null) return (SpfResult.PermError, $"bad macro in redirect of {domain}");
            var (r, why) = await CheckHostAsync(state, target, nested: true, ct).ConfigureAwait(false);
            return r == SpfResult.None ? (SpfResult.PermError, $"redirect to {target} finds no SPF record") : (r, why);
        }
        return (SpfResult.Neutral, $"{domain}: no mechanism matched");
    }

    private static SpfResult QualifierResult(char q) => q switch
    {
        '-' => SpfResult.Fail,
        '~' => SpfResult.SoftFail,
        '?' => SpfResult.Neutral,
        _ => SpfResult.Pass,
    };

    private static Term? ParseTerm(string word)
    {
        var q = '+';
        var w = word;
        if (w.Length > 0 && w[0] is '+' or '-' or '~' or '?') { q = w[0]; w = w[1..]; }
        var m = TermRegex().Match(w);
        if (!m.Success) return null;
        var name = m.Groups["name"].Value.ToLowerInvariant();
        var sep = m.Groups["sep"].Value;
        var arg = m.Groups["arg"].Success && sep.Length > 0 ? w[(m.Groups["name"].Length + (sep == "/" ? 0 : 1))..] : null;
        if (sep == "=")
        {
            if (word != w) return null; // a qualifier on a modifier
            return new Term('+', name, arg ?? "", true);
        }
        switch (name)
        {
            case "all": if (sep.Length > 0) return null; break;
            case "include" or "exists": if (sep != ":" || string.IsNullOrEmpty(arg)) return null; break;
            case "ip4" or "ip6": if (sep != ":" || string.IsNullOrEmpty(arg)) return null; break;
            case "a" or "mx" or "ptr": if (sep == ":" && string.IsNullOrEmpty(arg)) return null; break;
            default: return null; // unknown mechanism: permerror (RFC 7208 §5)
        }
        return new Term(q, name, arg, false);
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z][A-Za-z0-9_.\-]*)(?:(?<sep>[:=/])(?<arg>.*))?$")]
    private static partial Regex TermRegex();

    [GeneratedRegex(@"^(?<domain>[^/]*)(?:/(?<c4>\d{1,3}))?(?://(?<c6>\d{1,3}))?$")]
    private static partial Regex DualCidrRegex();

    private async ValueTask<(bool Match, SpfResult? Error, string Reason)> MatchAsync(Evaluation state, string domain, Term t, CancellationToken ct)
    {
        switch (t.Name)
        {
            case "all":
                return (true, null, "");
            case "ip4":
            case "ip6":
                {
                    var slash = t.Argument!.IndexOf('/');
                    var addrText = slash < 0 ? t.Argument : t.Argument[..slash];
                    var family = t.Name == "ip4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
                    int max = family == AddressFamily.InterNetwork ? 32 : 128;
                    if (!IPAddress.TryParse(addrText, out var net) || net.AddressFamily != family)
                        return (false, SpfResult.PermError, $"bad address in {t.Name}:{t.Argument}");
                    var len = max;
                    if (slash >= 0 && (!int.TryParse(t.Argument[(slash + 1)..], out len) || len < 0 || len > max || t.Argument[(slash + 1)..].StartsWith('0') && len != 0))
                        return (false, SpfResult.PermError, $"bad prefix length in {t.Name}:{t.Argument}");
                    return (state.Client.AddressFamily == family && InNetwork(state.Client, net, len), null, "");
                }
            case "include":
                {
                    if (++state.Lookups > DnsLookupLimit) return (false, SpfResult.PermError, "too many DNS lookups");
                    var target = Expand(t.Argument!, state, domain);
                    if (target is null) return (false, SpfResult.PermError, $"bad macro in include of {domain}");
                    var (r, why) = await CheckHostAsync(state, target, nested: true, ct).ConfigureAwait(false);
                    // RFC 7208 §5.2: the result of the included check decides whether include matches.
                    return r switch
                    {
                        SpfResult.Pass => (true, null, ""),
                        SpfResult.Fail or SpfResult.SoftFail or SpfResult.Neutral => (false, null, ""),
                        SpfResult.TempError => (false, SpfResult.TempError, why),
                        SpfResult.None => (false, SpfResult.PermError, $"include of {target} finds no SPF record"),
                        _ => (false, SpfResult.PermError, why),
                    };
                }
            case "exists":
                {
                    if (++state.Lookups > DnsLookupLimit) return (false, SpfResult.PermError, "too many DNS lookups");
                    var target = Expand(t.Argument!, state, domain);
                    if (target is null) return (false, SpfResult.PermError, $"bad macro in exists of {domain}");
                    var answer = await _dns.LookupAddressesAsync(target, ct).ConfigureAwait(false);
                    if (answer.Status == DnsStatus.TempFail) return (false, SpfResult.TempError, $"DNS temporary failure looking up {target}");
                    if (answer.Found) return (true, null, "");
                    return Void(state);
                }
            case "a":
            case "mx":
                {
                    if (++state.Lookups > DnsLookupLimit) return (false, SpfResult.PermError, "too many DNS lookups");
                    var m = DualCidrRegex().Match(t.Argument ?? "");
                    if (!m.Success) return (false, SpfResult.PermError, $"bad {t.Name} mechanism in {domain}");
                    var c4 = m.Groups["c4"].Success ? int.Parse(m.Groups["c4"].Value) : 32;
                    var c6 = m.Groups["c6"].Success ? int.Parse(m.Groups["c6"].Value) : 128;
                    if (c4 > 32 || c6 > 128) return (false, SpfResult.PermError, $"bad prefix length in {domain}");
                    var spec = m.Groups["domain"].Value;
                    var target = spec.Length == 0 ? domain : Expand(spec, state, domain);
                    if (target is null) return (false, SpfResult.PermError, $"bad macro in {t.Name} of {domain}");
                    var names = new List<string>();
                    if (t.Name == "a") names.Add(target);
                    else
                    {
                        var mx = await _dns.LookupMxAsync(target, ct).ConfigureAwait(false);
                        if (mx.Status == DnsStatus.TempFail) return (false, SpfResult.TempError, $"DNS temporary failure looking up MX of {target}");
                        if (!mx.Found) return Void(state);
                        var exchanges = mx.Records.Where(r => !r.IsNullExchange).Select(r => r.Exchange).ToList();
                        if (exchanges.Count > NameLimit) return (false, SpfResult.PermError, $"more than {NameLimit} MX names for {target}");
                        names.AddRange(exchanges);
                    }
                    foreach (var name in names)
                    {
                        var answer = await _dns.LookupAddressesAsync(name, ct).ConfigureAwait(false);
                        if (answer.Status == DnsStatus.TempFail) return (false, SpfResult.TempError, $"DNS temporary failure looking up {name}");
                        if (!answer.Found)
                        {
                            if (t.Name == "a") return Void(state);
                            continue;
                        }
                        foreach (var addr in answer.Records)
                        {
                            var a = DnsAddress.Normalize(addr);
                            if (a.AddressFamily != state.Client.AddressFamily) continue;
                            if (InNetwork(state.Client, a, a.AddressFamily == AddressFamily.InterNetwork ? c4 : c6)) return (true, null, "");
                        }
                    }
                    return (false, null, "");
                }
            case "ptr":
                {
                    if (++state.Lookups > DnsLookupLimit) return (false, SpfResult.PermError, "too many DNS lookups");
                    var target = t.Argument is null ? domain : Expand(t.Argument, state, domain);
                    if (target is null) return (false, SpfResult.PermError, $"bad macro in ptr of {domain}");
                    var ptr = await _dns.LookupPtrAsync(state.Client, ct).ConfigureAwait(false);
                    // RFC 7208 §5.5: a failed PTR lookup makes the mechanism not match.
                    if (ptr.Status != DnsStatus.Ok) { if (ptr.Status != DnsStatus.TempFail) return Void(state); return (false, null, ""); }
                    foreach (var name in ptr.Records.Take(NameLimit))
                    {
                        var n = name.TrimEnd('.').ToLowerInvariant();
                        if (!(n == target || n.EndsWith("." + target, StringComparison.Ordinal))) continue;
                        var answer = await _dns.LookupAddressesAsync(n, ct).ConfigureAwait(false);
                        if (answer.Found && answer.Records.Any(a => DnsAddress.SameAddress(a, state.Client))) return (true, null, "");
                    }
                    return (false, null, "");
                }
        }
        return (false, SpfResult.PermError, $"unknown mechanism {t.Name}");
    }

    private static (bool, SpfResult?, string) Void(Evaluation state)
        => ++state.VoidLookups > VoidLookupLimit ? (false, SpfResult.PermError, "too many void DNS lookups") : (false, null, "");

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix) => new IpNetwork(network, prefix).Contains(address);

    /// <summary>A multi-label name of at most 253 octets with labels of 1 to 63 (RFC 7208 §4.3).</summary>
    public static bool IsValidDomain(string domain)
    {
        if (domain.Length is 0 or > 253 || !domain.Contains('.')) return false;
        foreach (var label in domain.Split('.'))
            if (label.Length is 0 or > 63) return false;
        return true;
    }

    /// <summary>Macro expansion (RFC 7208 §7); null on a syntax error (permerror).</summary>
    private string? Expand(string spec, Evaluation state, string domain)
        => SpfMacro.Expand(spec, new SpfMacroContext(state.Sender, state.Local, state.SenderDomain, domain, state.Client, state.Helo, _receiver));
}
