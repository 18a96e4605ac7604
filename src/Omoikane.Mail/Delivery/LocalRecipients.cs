using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Delivery;

/// <summary>What a recipient resolves to: a local Maildir, a remote address to relay, or an error.</summary>
public abstract record ResolvedTarget
{
    public sealed record Mailbox(string Address, string Domain, string Local) : ResolvedTarget;
    public sealed record Remote(string Address) : ResolvedTarget;
    public sealed record Unknown(string Address, string Reason) : ResolvedTarget;
    public sealed record TempFail(string Address, string Reason) : ResolvedTarget;
}

/// <summary>
/// Local addressing as Postfix's local/virtual delivery does it: mydestination domains are local;
/// recipient_delimiter extensions are stripped (alice+tag → alice); alias_maps (aliases(5) tables,
/// keyed by the local part, or by the full address) expand to one or more targets, recursively with a
/// loop limit; what remains must be a user of the user store.
/// </summary>
public sealed class LocalRecipients
{
    private readonly HashSet<string> _localDomains;
    private readonly string _delimiters;
    private readonly IReadOnlyList<ILookupTable> _aliases;
    private readonly ILocalUsers _users;
    private readonly string _myorigin;
    private const int MaxAliasDepth = 10;

    public LocalRecipients(Parameters p, IReadOnlyList<ILookupTable> aliasMaps, ILocalUsers users)
    {
        _localDomains = new HashSet<string>(p.GetList("mydestination").Select(d => d.TrimEnd('.').ToLowerInvariant()), StringComparer.Ordinal);
        _delimiters = p.Get("recipient_delimiter");
        _aliases = aliasMaps;
        _users = users;
        _myorigin = p.Get("myorigin").ToLowerInvariant();
    }

    public bool IsLocalDomain(string domain) => _localDomains.Contains(domain.TrimEnd('.').ToLowerInvariant());

    public IReadOnlySet<string> LocalDomains => _localDomains;

    /// <summary>Strips the extension: "alice+tag" → "alice" (every character of recipient_delimiter is a delimiter).</summary>
    public string StripExtension(string local)
    {
        if (_delimiters.Length == 0) return local;
        var i = local.IndexOfAny(_delimiters.ToCharArray());
        return i > 0 ? local[..i] : local;
    }

    /// <summary>Does a local recipient exist (user or alias)? For reject_unlisted_recipient at RCPT time.</summary>
    public async ValueTask<LookupStatus> ExistsAsync(MailAddress rcpt, CancellationToken ct = default)
    {
        var domain = rcpt.Domain.Length == 0 ? _myorigin : rcpt.DomainKey;
        var local = rcpt.LocalPart.ToLowerInvariant();
        if (_users.Exists($"{local}@{domain}")) return LookupStatus.Found;
        var stripped = StripExtension(local);
        if (stripped != local && _users.Exists($"{stripped}@{domain}")) return LookupStatus.Found;
        foreach (var key in AliasKeys(local, stripped, domain))
        {
            var r = await LookupAliasAsync(key, ct).ConfigureAwait(false);
            if (r.Status != LookupStatus.NotFound) return r.Status;
        }
        return LookupStatus.NotFound;
    }

    private static IEnumerable<string> AliasKeys(string local, string stripped, string domain)
    {
        yield return $"{local}@{domain}";
        yield return local;
        if (stripped != local) { yield return $"{stripped}@{domain}"; yield return stripped; }
    }

    private async ValueTask<LookupResult> LookupAliasAsync(string key, CancellationToken ct)
    {
        bool temp = false;
        foreach (var t in _aliases)
        {
            var r = await t.LookupAsync(key, ct).ConfigureAwait(false);
            if (r.Status == LookupStatus.Found) return r;
            if (r.Status == LookupStatus.TempFail) temp = true;
        }
        return temp ? LookupResult.TempFail : LookupResult.NotFound;
    }

    /// <summary>Resolves a recipient into its final targets (aliases expanded, duplicates removed).</summary>
    public async Task<IReadOnlyList<ResolvedTarget>> ResolveAsync(string address, CancellationToken ct = default)
    {
        var result = new List<ResolvedTarget>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await ResolveIntoAsync(address, 0, result, seen, ct).ConfigureAwait(false);
        return result;
    }

    private async Task ResolveIntoAsync(string address, int depth, List<ResolvedTarget> into, HashSet<string> seen, CancellationToken ct)
    {
        if (!seen.Add(address)) return;
        var at = address.LastIndexOf('@');
        var local = at < 0 ? address : address[..at];
        var domain = at < 0 ? _myorigin : address[(at + 1)..].TrimEnd('.').ToLowerInvariant();
        if (!IsLocalDomain(domain))
        {
            into.Add(new ResolvedTarget.Remote(at < 0 ? $"{local}@{domain}" : address));
            return;
        }
        var lower = local.ToLowerInvariant();
        var stripped = StripExtension(lower);
        if (depth < MaxAliasDepth)
        {
            foreach (var key in AliasKeys(lower, stripped, domain))
            {
                var r = await LookupAliasAsync(key, ct).ConfigureAwait(false);
                if (r.Status == LookupStatus.TempFail) { into.Add(new ResolvedTarget.TempFail(address, "alias table lookup failed")); return; }
                if (r.Status != LookupStatus.Found) continue;
                foreach (var target in Parameters.SplitList(r.Value ?? ""))
                {
                    var t = target.Trim().Trim('"');
                    if (t.Length == 0) continue;
                    if (t.StartsWith('|') || t.StartsWith('/') || t.StartsWith(":include:", StringComparison.OrdinalIgnoreCase))
                    {
                        into.Add(new ResolvedTarget.Unknown(address, $"unsupported alias target {t}"));
                        continue;
                    }
                    var full = t.Contains('@') ? t : $"{t}@{domain}";
                    // An alias naming itself means "deliver to the user too" (aliases(5) "user: user, other").
                    if (string.Equals(full, $"{lower}@{domain}", StringComparison.OrdinalIgnoreCase) || string.Equals(full, $"{stripped}@{domain}", StringComparison.OrdinalIgnoreCase))
                    {
                        if (_users.Exists($"{stripped}@{domain}")) into.Add(new ResolvedTarget.Mailbox($"{stripped}@{domain}", domain, stripped));
                        else into.Add(new ResolvedTarget.Unknown(address, "unknown user"));
                        continue;
                    }
                    await ResolveIntoAsync(full, depth + 1, into, seen, ct).ConfigureAwait(false);
                }
                return;
            }
        }
        if (_users.Exists($"{lower}@{domain}")) { into.Add(new ResolvedTarget.Mailbox($"{lower}@{domain}", domain, lower)); return; }
        if (_users.Exists($"{stripped}@{domain}")) { into.Add(new ResolvedTarget.Mailbox($"{stripped}@{domain}", domain, stripped)); return; }
        into.Add(new ResolvedTarget.Unknown(address, "unknown user"));
    }
}
