using Omoikane.Mail.Addressing;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>Access tables: Postfix's search orders (smtpd_check.c check_*_access) and result handling (access(5)).</summary>
internal sealed partial class PolicyEvaluation
{
    private string NullAccessKey => _policy.Parameters.IsExplicit("smtpd_null_access_lookup_key")
        ? _policy.Parameters.Get("smtpd_null_access_lookup_key") : "<>";

    /// <summary>Partial keys (parents, prefixes) are not looked up in pattern tables such as cidr.</summary>
    private async ValueTask<LookupResult> LookupAsync(ILookupTable table, string key, bool partial)
    {
        if (partial && table is IPatternTable) return LookupResult.NotFound;
        var r = await table.LookupAsync(key, _ct).ConfigureAwait(false);
        _trace?.Add(new PolicyTraceEntry(Stage, _recursion, "lookup", r.Status.ToString().ToLowerInvariant(),
            $"{table.Name} key \"{key}\"{(r.Value is null ? "" : " = " + r.Value)}"));
        return r;
    }

    /// <summary>check_access: one key, no parent or prefix magic.</summary>
    private async ValueTask<(Status Status, bool Found)> CheckAccessAsync(ILookupTable table, string key, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        var r = await LookupAsync(table, key, false).ConfigureAwait(false);
        return r.Status switch
        {
            LookupStatus.Found => (await CheckTableResultAsync(table, r.Value!, replyName, replyClass, defaultAccess).ConfigureAwait(false), true),
            LookupStatus.TempFail => (DictRetry(replyName), true),
            _ => (Status.Dunno, false),
        };
    }

    /// <summary>
    /// check_domain_access: the name, then its parent domains ("example.com" with parent matching,
    /// ".example.com" without). Numeric names get no subdomain magic.
    /// </summary>
    private async ValueTask<(Status Status, bool Found)> CheckDomainAccessAsync(ILookupTable table, string domain, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        bool parentStyle = _policy.AccessParentStyle;
        bool partial = false;
        var name = domain.ToLowerInvariant();
        bool numerical = HostnameSyntax.IsValidHostAddress(domain);
        while (name.Length > 0)
        {
            var r = await LookupAsync(table, name, partial).ConfigureAwait(false);
            if (r.Status == LookupStatus.Found)
                return (await CheckTableResultAsync(table, r.Value!, replyName, replyClass, defaultAccess).ConfigureAwait(false), true);
            if (r.Status == LookupStatus.TempFail) return (DictRetry(replyName), true);
            if (numerical) break;
            var next = name.IndexOf('.', 1);
            if (next < 0) break;
            name = parentStyle ? name[(next + 1)..] : name[next..];
            partial = true;
        }
        return (Status.Dunno, false);
    }

    /// <summary>check_addr_access: the address, then its networks by dropping octets (".") or IPv6 groups (":").</summary>
    private async ValueTask<(Status Status, bool Found)> CheckAddrAccessAsync(ILookupTable table, string address, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        char delim = address.Contains(':') ? ':' : '.';
        var key = address;
        bool partial = false;
        while (true)
        {
            var r = await LookupAsync(table, key, partial).ConfigureAwait(false);
            if (r.Status == LookupStatus.Found)
                return (await CheckTableResultAsync(table, r.Value!, replyName, replyClass, defaultAccess).ConfigureAwait(false), true);
            if (r.Status == LookupStatus.TempFail) return (DictRetry(replyName), true);
            partial = true;
            var cut = key.LastIndexOf(delim);
            if (cut < 0) break;
            key = key[..cut];
        }
        return (Status.Dunno, false);
    }

    /// <summary>check_namadr_access: host name and parent domains, then the address and its networks.</summary>
    private async ValueTask<Status> CheckNamAddrAccessAsync(ILookupTable table, string name, string address, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        var (s, found) = await CheckDomainAccessAsync(table, name, replyName, replyClass, defaultAccess).ConfigureAwait(false);
        if (s != Status.Dunno || found) return s;
        (s, found) = await CheckAddrAccessAsync(table, address, replyName, replyClass, defaultAccess).ConfigureAwait(false);
        return s;
    }

    /// <summary>
    /// check_mail_access: user+ext@domain, user@domain, domain, parent domains, user+ext@, user@
    /// (mail_addr_find with the smtpd_access_maps parent style). A recipient with sender-specified
    /// routing in its local part never gets OK from a table (smtpd_check.c SUSPICIOUS).
    /// </summary>
    private async ValueTask<Status> CheckMailAccessAsync(ILookupTable table, MailAddress address, string replyClass, RestrictionKind? defaultAccess)
    {
        var replyName = address.ToString();
        // Canonical keys (AddressKey): the same form the user store, aliases and Maildir names use.
        var local = address.LocalKey;
        var domain = address.DomainKey;
        var keys = new List<(string Key, bool Partial)>();
        var noExt = StripExtension(local);
        if (domain.Length > 0)
        {
            keys.Add(($"{local}@{domain}", false));
            if (noExt != local) keys.Add(($"{noExt}@{domain}", false));
            keys.Add((domain, false));
            if (!domain.StartsWith('['))
            {
                bool parentStyle = _policy.AccessParentStyle;
                for (int next = domain.IndexOf('.', 1); next >= 0; next = domain.IndexOf('.', next + 1))
                    keys.Add((parentStyle ? domain[(next + 1)..] : domain[next..], true));
            }
        }
        keys.Add(($"{local}@", false));
        if (noExt != local) keys.Add(($"{noExt}@", false));

        foreach (var (key, partial) in keys)
        {
            var r = await LookupAsync(table, key, partial).ConfigureAwait(false);
            if (r.Status == LookupStatus.TempFail) return DictRetry(replyName);
            if (r.Status != LookupStatus.Found) continue;
            var s = await CheckTableResultAsync(table, r.Value!, replyName, replyClass, defaultAccess).ConfigureAwait(false);
            return s == Status.Permit && replyClass == ReplyClass.Recipient && address.HasRoutingOperators ? Status.Dunno : s;
        }
        return Status.Dunno;
    }

    private string StripExtension(string local)
    {
        var delims = _policy.Parameters.Get("recipient_delimiter");
        if (delims.Length == 0) return local;
        var i = local.IndexOfAny(delims.ToCharArray());
        return i > 0 ? local[..i] : local;
    }

    /// <summary>check_table_result: what an access(5) value means.</summary>
    private async ValueTask<Status> CheckTableResultAsync(ILookupTable table, string value, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        var p = _policy.Parameters;
        var a = AccessResult.Parse(value);
        string Text(string fallback) => a.Text.Length > 0 ? a.Text : fallback;
        switch (a.Action)
        {
            case AccessAction.Dunno:
                return Status.Dunno;
            case AccessAction.Ok:
                return Status.Permit;
            case AccessAction.Reject:
                return Reject(ErrorClass.Policy, p.GetInt("access_map_reject_code"), FixDsn(a.Enhanced ?? "5.7.1", replyClass),
                    $"<{replyName}>: {replyClass} rejected: {Text("Access denied")}");
            case AccessAction.Defer:
                return Reject(ErrorClass.Policy, p.GetInt("access_map_defer_code"), FixDsn(a.Enhanced ?? "4.7.1", replyClass),
                    $"<{replyName}>: {replyClass} rejected: {Text("Access denied")}");
            case AccessAction.Code:
                return Reject(ErrorClass.Policy, a.Code, FixDsn(a.Enhanced ?? $"{a.Code / 100}.7.1", replyClass),
                    $"<{replyName}>: {replyClass} rejected: {Text("Access denied")}");
            case AccessAction.DeferIfPermit:
                return DeferIfPermitNow(p.GetInt("access_map_defer_code"), FixDsn(a.Enhanced ?? "4.7.1", replyClass),
                    $"<{replyName}>: {replyClass} rejected: {Text("Service unavailable")}");
            case AccessAction.DeferIfReject:
                return DeferIfRejectNow(p.GetInt("access_map_defer_code"), FixDsn(a.Enhanced ?? "4.7.1", replyClass),
                    $"<{replyName}>: {replyClass} rejected: {Text("Service unavailable")}");
            case AccessAction.Warn:
                Log.Add(new PolicyLogEntry("warn", a.Text));
                return Status.Dunno;
            case AccessAction.Info:
                Log.Add(new PolicyLogEntry("info", a.Text));
                return Status.Dunno;
            case AccessAction.Hold:
            case AccessAction.Discard:
            case AccessAction.Filter:
            case AccessAction.Redirect:
            case AccessAction.Bcc:
            case AccessAction.Prepend:
            case AccessAction.Hangup:
            {
                // Accepted for compatibility; these queue-file actions are not implemented. Log and go on.
                var action = a.Action.ToString().ToUpperInvariant();
                Log.Add(new PolicyLogEntry(a.Action.ToString().ToLowerInvariant(),
                    $"<{replyName}>: {replyClass} triggers {action}{(a.Text.Length > 0 ? " " + a.Text : "")} (action not supported: ignored; from {table.Name})"));
                return Status.Dunno;
            }
            case AccessAction.TableReference:
                return ServerError($"access table {table.Name} has entry with lookup table: {value}: define a restriction class and specify its name instead");
            default:
            {
                if (_recursion > MaxRecursion)
                    return ServerError($"access table {table.Name} entry {value} causes unreasonable recursion");
                var list = _policy.CompileTableResult(value);
                if (list.IsEmpty) return Status.Permit;
                return await GenericChecksAsync(list, replyName, replyClass, defaultAccess).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// permit_auth_destination: the recipient domain is ours (mydestination, an own address literal)
    /// or a relay domain, and the local part carries no sender-specified routing (@, %, !).
    /// </summary>
    private async ValueTask<Status> PermitAuthDestinationAsync(MailAddress recipient)
    {
        if (recipient.Domain.Length == 0) return Status.Permit;
        if (recipient.HasRoutingOperators) return Status.Dunno;
        var domain = recipient.DomainKey;
        var local = await _policy.Domains.IsLocalDomainAsync(domain, _ct).ConfigureAwait(false);
        if (local == LookupStatus.TempFail) return DictRetry(recipient.ToString());
        if (local == LookupStatus.Found) return Status.Permit;
        var relay = await _policy.Domains.IsRelayDomainAsync(domain, _ct).ConfigureAwait(false);
        if (relay == LookupStatus.TempFail) return DictRetry(recipient.ToString());
        return relay == LookupStatus.Found ? Status.Permit : Status.Dunno;
    }

    /// <summary>
    /// smtpd_check.c check_rcpt_maps: an address that transport_maps sends to the error mailer is known to be
    /// undeliverable (550, status from the entry or 5.1.1/5.1.0), one sent to retry is refused for now (450, 4.1.1/4.1.0).
    /// </summary>
    private async ValueTask<Status> CheckTransportAsync(MailAddress address, string replyClass)
    {
        if (_policy.Transports is not { } transports) return Status.Dunno;
        var hop = await transports.ResolveAsync(address.ToString(), _ct).ConfigureAwait(false);
        if (hop.Kind is not (Delivery.Smtp.NextHopKind.Error or Delivery.Smtp.NextHopKind.Retry)) return Status.Dunno;
        var code = hop.Kind == Delivery.Smtp.NextHopKind.Error ? 550 : 450;
        var dsn = hop.ExplicitDsn ? hop.Dsn! : (code == 550 ? "5" : "4") + (replyClass == ReplyClass.Sender ? ".1.0" : ".1.1");
        // The SMTP code decides the class of the status, as smtpd_check_reject enforces.
        dsn = (code == 550 ? "5" : "4") + dsn[1..];
        return Reject(ErrorClass.Bounce, code, dsn, $"<{address}>: {replyClass} rejected: {hop.Text}");
    }

    public async ValueTask<Status> CheckRecipientRcptMapsAsync(MailAddress recipient)
    {
        if (RecipientRcptMapChecked) return Status.Dunno;
        if (_warnIfReject == 0) RecipientRcptMapChecked = true;
        return await CheckRcptMapsAsync(recipient, ReplyClass.Recipient).ConfigureAwait(false);
    }

    private async ValueTask<Status> CheckSenderRcptMapsAsync(MailAddress sender)
    {
        if (SenderRcptMapChecked) return Status.Dunno;
        if (_warnIfReject == 0) SenderRcptMapChecked = true;
        return await CheckRcptMapsAsync(sender, ReplyClass.Sender).ConfigureAwait(false);
    }

    /// <summary>check_rcpt_maps for local domains: unknown users get "User unknown in local recipient table".</summary>
    private async ValueTask<Status> CheckRcptMapsAsync(MailAddress address, string replyClass)
    {
        if (address.Domain.Length == 0) return Status.Dunno;
        var local = await _policy.Domains.IsLocalDomainAsync(address.DomainKey, _ct).ConfigureAwait(false);
        if (local == LookupStatus.TempFail) return DictRetry(address.ToString());
        if (local != LookupStatus.Found) return await CheckTransportAsync(address, replyClass).ConfigureAwait(false);
        if (_policy.Options.LocalRecipients is not { } users) return Status.Dunno;
        // Postfix skips these here (smtpd_check.c check_rcpt_maps); LocalRecipients always delivers them.
        var lp = address.LocalKey;
        if (lp == AddressKey.Local(_policy.Parameters.Get("double_bounce_sender")) || lp is "postmaster" or "mailer-daemon")
            return Status.Dunno;
        var exists = await users.ExistsAsync(address, _ct).ConfigureAwait(false);
        _trace?.Add(new PolicyTraceEntry(Stage, _recursion, "local recipient", exists.ToString().ToLowerInvariant(), address.ToString()));
        return exists switch
        {
            LookupStatus.TempFail => DictRetry(address.ToString()),
            LookupStatus.NotFound => Reject(ErrorClass.Bounce, _policy.Parameters.GetInt("unknown_local_recipient_reject_code"),
                replyClass == ReplyClass.Sender ? "5.1.0" : "5.1.1", $"<{address}>: {replyClass} rejected: User unknown in local recipient table"),
            _ => Status.Dunno,
        };
    }
}
