using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Delivery;

/// <summary>What a recipient resolves to: a local Maildir, a remote address to relay, or an error.</summary>
public abstract record ResolvedTarget
{
    /// <summary>The Maildir of user <paramref name="Address"/> (its canonical form names the directory).</summary>
    public sealed record Mailbox(string Address, string Domain, string Local) : ResolvedTarget;
    public sealed record Remote(string Address) : ResolvedTarget;
    public sealed record Unknown(string Address, string Reason) : ResolvedTarget;
    public sealed record TempFail(string Address, string Reason) : ResolvedTarget;
    /// <summary>An alias "|command": the message is piped into the command, run by /bin/sh (local(8)).</summary>
    public sealed record Command(string Address, string CommandLine) : ResolvedTarget;
    /// <summary>An alias "/file" (mbox append) or "/dir/" (a Maildir).</summary>
    public sealed record File(string Address, string Path) : ResolvedTarget;

    /// <summary>Mail for this target is delivered or relayed (not refused for certain).</summary>
    public bool IsDeliverable => this is Mailbox or Remote or Command or File;
}

/// <summary>
/// Local addressing as Postfix's local delivery does it. A domain is local when the policy's
/// <see cref="DomainClassifier"/> says so (mydestination, or an address literal naming one of the server's
/// own addresses), so that what RCPT accepted as local is delivered locally. All local domains are one
/// namespace: "joe@[192.0.2.1]" and "joe@localhost" find user joe of any mydestination domain.
/// recipient_delimiter extensions are stripped (alice+tag → alice); alias_maps (aliases(5) tables, keyed by
/// the local part or the full address) expand to targets, recursively with a loop limit; what remains must
/// be a user of the user store. postmaster is always deliverable (RFC 5321 §4.5.1): without an alias or a
/// user it goes to the Maildir of postmaster at the recipient's domain; MAILER-DAEMON and the
/// double-bounce address go to postmaster, as the stock aliases(5) file sends them.
/// Every key is the canonical form (<see cref="AddressKey"/>), as in the access tables and the user store.
/// RCPT (<see cref="ExistsAsync"/>) and delivery (<see cref="ResolveAsync"/>) run the same resolution,
/// so a recipient accepted at RCPT is never one that delivery would bounce as unknown.
/// </summary>
public sealed class LocalRecipients : ILocalRecipients
{
    private const string Postmaster = "postmaster";
    private const int MaxAliasDepth = 10;
    private const string Alias = "alias", Include = "include";
    private readonly IReadOnlyList<ILookupTable> _aliases;
    private readonly ILocalUsers _users;
    private volatile Settings _s;

    /// <summary>What a reload replaces at once: the domains and the parameters resolution reads.</summary>
    private sealed record Settings(DomainClassifier Domains, string Delimiters, string MyOrigin, string MyHostname, IReadOnlySet<string> ToPostmaster,
        IReadOnlySet<string> CommandsFrom, IReadOnlySet<string> FilesFrom)
    {
        public static Settings From(Parameters p, DomainClassifier domains) => new(domains, p.Get("recipient_delimiter"),
            AddressKey.Domain(p.Get("myorigin")), AddressKey.Domain(p.Get("myhostname")),
            new HashSet<string>(StringComparer.Ordinal) { "mailer-daemon", AddressKey.Local(p.Get("double_bounce_sender")) },
            Classes(p.Get("allow_mail_to_commands")), Classes(p.Get("allow_mail_to_files")));

        private static HashSet<string> Classes(string list)
            => new(Parameters.SplitList(list).Select(c => c.ToLowerInvariant()), StringComparer.Ordinal);
    }

    public LocalRecipients(Parameters p, IReadOnlyList<ILookupTable> aliasMaps, ILocalUsers users, DomainClassifier domains)
    {
        _aliases = aliasMaps;
        _users = users;
        _s = Settings.From(p, domains);
    }

    /// <summary>A reload: from now on, the new mydestination (the policy's new classifier) and parameters.</summary>
    public void Reconfigure(Parameters p, DomainClassifier domains) => _s = Settings.From(p, domains);

    private DomainClassifier Domains => _s.Domains;
    private string MyOrigin => _s.MyOrigin;
    private string MyHostname => _s.MyHostname;
    private IReadOnlySet<string> ToPostmaster => _s.ToPostmaster;

    /// <summary>mydestination, or an address literal naming one of the server's own addresses.</summary>
    public ValueTask<LookupStatus> IsLocalDomainAsync(string domain, CancellationToken ct = default) => Domains.IsLocalDomainAsync(domain, ct);

    /// <summary>Strips the extension: "alice+tag" → "alice" (every character of recipient_delimiter is a delimiter).</summary>
    public string StripExtension(string local)
    {
        var delimiters = _s.Delimiters;
        if (delimiters.Length == 0) return local;
        var i = local.IndexOfAny(delimiters.ToCharArray());
        return i > 0 ? local[..i] : local;
    }

    /// <summary>
    /// Will mail to this recipient be delivered (or relayed)? For reject_unlisted_recipient and VRFY: Found
    /// when the resolution has a deliverable target, TempFail when a lookup failed, NotFound otherwise
    /// (unknown users, aliases that expand only to unknown users or to themselves in a loop).
    /// </summary>
    public async ValueTask<LookupStatus> ExistsAsync(MailAddress recipient, CancellationToken ct = default)
    {
        var address = recipient.Domain.Length == 0 ? recipient.LocalPart : recipient.LocalPart + "@" + recipient.Domain;
        var targets = await ResolveAsync(address, ct).ConfigureAwait(false);
        if (targets.Any(t => t.IsDeliverable)) return LookupStatus.Found;
        return targets.Any(t => t is ResolvedTarget.TempFail) ? LookupStatus.TempFail : LookupStatus.NotFound;
    }

    /// <summary>
    /// Does mail to postmaster@domain reach someone (a user, or an alias target: command, file, remote
    /// address)? Null when it does; else why not and how to fix it. Resolution never refuses postmaster: it
    /// then falls back to the Maildir of postmaster at the domain, which no user reads (omoikane check).
    /// </summary>
    public async ValueTask<string?> PostmasterProblemAsync(string domain, CancellationToken ct = default)
    {
        var targets = await ResolveAsync($"{Postmaster}@{domain}", ct).ConfigureAwait(false);
        if (targets.Any(t => t is ResolvedTarget.Remote or ResolvedTarget.Command or ResolvedTarget.File or ResolvedTarget.TempFail
                || (t is ResolvedTarget.Mailbox m && _users.Find(m.Address) is not null)))
            return null;
        var kept = targets.OfType<ResolvedTarget.Mailbox>().FirstOrDefault()?.Address ?? $"{Postmaster}@{domain}";
        var alias = await LookupAliasAsync(Postmaster, ct).ConfigureAwait(false);
        var why = alias.Status == LookupStatus.Found
            ? $"alias \"{Postmaster}: {alias.Value}\" names nothing deliverable"
            : $"there is no alias and no user for {Postmaster}";
        return $"{why}; mail to {Postmaster} is kept in the Maildir of {kept}, which no user reads: "
            + $"add \"{Postmaster}: you@{domain}\" (an existing user) to an alias_maps file, or run \"omoikane user add {kept}\"";
    }

    /// <summary>The user a local address names, without aliases (transport_maps "local:"): its address, or null.</summary>
    public string? FindUser(string local, string domain)
    {
        var key = AddressKey.Local(local);
        return FindUser(key, StripExtension(key), AddressKey.Domain(domain));
    }

    /// <summary>Resolves a recipient into its final targets (aliases expanded, duplicates removed); never empty.</summary>
    public async Task<IReadOnlyList<ResolvedTarget>> ResolveAsync(string address, CancellationToken ct = default)
    {
        var result = new List<ResolvedTarget>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await ResolveIntoAsync(address, 0, result, seen, ct).ConfigureAwait(false);
        // Everything it expanded to was seen before: an alias loop (aliases(5) "a: b", "b: a").
        if (result.Count == 0) result.Add(new ResolvedTarget.Unknown(address, "mail forwarding loop"));
        return result;
    }

    private async Task ResolveIntoAsync(string address, int depth, List<ResolvedTarget> into, HashSet<string> seen, CancellationToken ct)
    {
        var at = address.LastIndexOf('@');
        var local = at < 0 ? address : address[..at];
        var domain = at < 0 ? MyOrigin : AddressKey.Domain(address[(at + 1)..]);
        if (!seen.Add(AddressKey.Of(local, domain))) return;
        switch (await Domains.IsLocalDomainAsync(domain, ct).ConfigureAwait(false))
        {
            case LookupStatus.TempFail:
                into.Add(new ResolvedTarget.TempFail(address, "mydestination lookup failed"));
                return;
            case LookupStatus.NotFound:
                into.Add(new ResolvedTarget.Remote(at < 0 ? $"{local}@{domain}" : address));
                return;
        }
        var key = AddressKey.Local(local);
        var stripped = StripExtension(key);
        int start = into.Count;
        if (depth < MaxAliasDepth)
        {
            foreach (var aliasKey in AliasKeys(key, stripped, domain))
            {
                var r = await LookupAliasAsync(aliasKey, ct).ConfigureAwait(false);
                if (r.Status == LookupStatus.TempFail) { into.Add(new ResolvedTarget.TempFail(address, "alias table lookup failed")); return; }
                if (r.Status != LookupStatus.Found) continue;
                foreach (var target in AliasTable.SplitTargets(r.Value ?? ""))
                    await ExpandTargetAsync(address, key, stripped, domain, target, Alias, depth, into, seen, ct).ConfigureAwait(false);
                // "postmaster: root" with no user root: postmaster stays deliverable.
                if (stripped == Postmaster && !into.Skip(start).Any(t => t.IsDeliverable || t is ResolvedTarget.TempFail))
                {
                    into.RemoveRange(start, into.Count - start);
                    into.Add(PostmasterMailbox(domain));
                }
                return;
            }
        }
        var target0 = UserTarget(address, key, stripped, domain);
        if (target0 is ResolvedTarget.Unknown && ToPostmaster.Contains(stripped) && depth < MaxAliasDepth)
        {
            await ResolveIntoAsync($"{Postmaster}@{domain}", depth + 1, into, seen, ct).ConfigureAwait(false);
            return;
        }
        into.Add(target0);
    }

    /// <summary>
    /// One target of an alias (or of an :include: file): "|command" and "/file" when allow_mail_to_commands /
    /// allow_mail_to_files name the class they come from ("alias" or "include"), ":include:/path" (a list of
    /// targets, read at every resolution), or an address, itself resolved again.
    /// </summary>
    private async Task ExpandTargetAsync(string address, string key, string stripped, string domain, string target, string cls,
        int depth, List<ResolvedTarget> into, HashSet<string> seen, CancellationToken ct)
    {
        var t = target.Trim().Trim('"').Trim();
        if (t.Length == 0) return;
        if (t.StartsWith('|'))
        {
            if (!_s.CommandsFrom.Contains(cls)) into.Add(new ResolvedTarget.Unknown(address, "mail to command is restricted"));
            else if (seen.Add(t)) into.Add(new ResolvedTarget.Command(address, t[1..].Trim()));
            return;
        }
        if (t.StartsWith('/'))
        {
            if (!_s.FilesFrom.Contains(cls)) into.Add(new ResolvedTarget.Unknown(address, "mail to file is restricted"));
            else if (seen.Add(t)) into.Add(new ResolvedTarget.File(address, t));
            return;
        }
        if (t.StartsWith(":include:", StringComparison.OrdinalIgnoreCase))
        {
            var path = t[":include:".Length..].Trim();
            if (!Path.IsPathRooted(path)) { into.Add(new ResolvedTarget.Unknown(address, $"include file {path} is not an absolute path")); return; }
            if (!seen.Add(":include:" + path) || depth >= MaxAliasDepth) return;
            string text;
            try { text = await System.IO.File.ReadAllTextAsync(path, ct).ConfigureAwait(false); }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                into.Add(new ResolvedTarget.Unknown(address, $"cannot open include file {path}: no such file"));
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                into.Add(new ResolvedTarget.TempFail(address, $"cannot open include file {path}: {ex.Message}"));
                return;
            }
            foreach (var line in text.Split('\n'))
            {
                var l = line.Trim();
                if (l.Length == 0 || l.StartsWith('#')) continue;
                foreach (var member in AliasTable.SplitTargets(l))
                    await ExpandTargetAsync(address, key, stripped, domain, member, Include, depth + 1, into, seen, ct).ConfigureAwait(false);
            }
            return;
        }
        var full = t.Contains('@') ? t : $"{t}@{domain}";
        var fullKey = AddressKey.Of(full);
        // An alias naming itself means "deliver to the user too" (aliases(5) "user: user, other").
        if (fullKey == AddressKey.Of(key, domain) || fullKey == AddressKey.Of(stripped, domain))
        {
            into.Add(UserTarget(address, key, stripped, domain));
            return;
        }
        await ResolveIntoAsync(full, depth + 1, into, seen, ct).ConfigureAwait(false);
    }

    /// <summary>The user's Maildir; postmaster without a user gets the Maildir of postmaster at this domain.</summary>
    private ResolvedTarget UserTarget(string address, string key, string stripped, string domain)
    {
        string? user;
        try { user = FindUser(key, stripped, domain); }
        catch (Exception ex) when (ex is Credentials.UserStoreException or IOException)
        {
            return new ResolvedTarget.TempFail(address, "user lookup failed"); // an unreadable user store refuses nobody for good
        }
        if (user is not null)
        {
            var at = user.LastIndexOf('@');
            return new ResolvedTarget.Mailbox(user, user[(at + 1)..], user[..at]);
        }
        return stripped == Postmaster ? PostmasterMailbox(domain) : new ResolvedTarget.Unknown(address, "unknown user");
    }

    private ResolvedTarget.Mailbox PostmasterMailbox(string domain)
    {
        var home = domain.StartsWith('[') ? Domains.LocalNames.FirstOrDefault() ?? MyHostname : domain;
        return new ResolvedTarget.Mailbox($"{Postmaster}@{home}", home, Postmaster);
    }

    /// <summary>local@domain, then (one local namespace) local@ each mydestination name; then the same without the extension.</summary>
    private string? FindUser(string key, string stripped, string domain)
    {
        foreach (var local in stripped == key ? [key] : new[] { key, stripped })
        {
            if (!domain.StartsWith('[') && _users.Find($"{local}@{domain}") is { } exact) return exact;
            foreach (var name in Domains.LocalNames)
                if (name != domain && _users.Find($"{local}@{name}") is { } other) return other;
        }
        return null;
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
}
