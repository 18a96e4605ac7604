using Omoikane.Mail.Addressing;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>
/// reject_*_sender_login_mismatch (postconf(5)) with smtpd_sender_login_maps: the map gives, for a sender
/// address ("user@domain", "user@domain" without its extension, "user" for a local domain, "@domain"), the
/// login names that own it (comma or space separated). An authenticated client whose login owns neither the
/// address nor (without "known") an unlisted one gets "553 5.7.1 &lt;addr&gt;: Sender address rejected: not owned
/// by user LOGIN"; an unauthenticated client using an owned address gets "... not logged in". Login names are
/// compared in their canonical form; an owner without '@' is qualified with smtpd_sasl_local_domain.
/// </summary>
internal sealed partial class PolicyEvaluation
{
    private async ValueTask<Status> CheckSenderLoginAsync(bool authenticated, bool knownOnly, bool unauthenticated)
    {
        if (_ctx.Sender is not { IsNull: false } sender || _policy.SenderLoginMaps.Count == 0) return Status.Dunno;
        var login = _ctx.SaslUsername;
        if (login is null ? !unauthenticated : !authenticated) return Status.Dunno;
        var (temp, owners) = await FindSenderOwnersAsync(sender).ConfigureAwait(false);
        if (temp) return DictRetry(sender.ToString());
        if (login is null)
            return owners is null ? Status.Dunno
                : Reject(ErrorClass.Policy, 553, "5.7.1", $"<{sender}>: Sender address rejected: not logged in");
        if (owners is null ? knownOnly : owners.Any(o => SameLogin(o, login))) return Status.Dunno;
        return Reject(ErrorClass.Policy, 553, "5.7.1", $"<{sender}>: Sender address rejected: not owned by user {login}");
    }

    private async ValueTask<(bool TempFail, IReadOnlyList<string>? Owners)> FindSenderOwnersAsync(MailAddress sender)
    {
        var local = sender.LocalKey;
        var domain = sender.DomainKey;
        var noExt = StripExtension(local);
        var keys = new List<string>();
        if (domain.Length > 0) keys.Add($"{local}@{domain}");
        if (domain.Length > 0 && noExt != local) keys.Add($"{noExt}@{domain}");
        if (domain.Length == 0 || await _policy.Domains.IsLocalDomainAsync(domain, _ct).ConfigureAwait(false) == LookupStatus.Found)
        {
            keys.Add(local);
            if (noExt != local) keys.Add(noExt);
        }
        if (domain.Length > 0) keys.Add($"@{domain}");
        foreach (var table in _policy.SenderLoginMaps)
            foreach (var key in keys)
            {
                var r = await LookupAsync(table, key, partial: false).ConfigureAwait(false);
                if (r.Status == LookupStatus.TempFail) return (true, null);
                if (r.Status == LookupStatus.Found)
                    return (false, r.Value!.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
        return (false, null);
    }

    private bool SameLogin(string owner, string login)
    {
        var realm = _policy.Parameters.Get("smtpd_sasl_local_domain").Trim();
        if (!owner.Contains('@') && realm.Length > 0) owner = $"{owner}@{realm}";
        return owner.Contains('@') && login.Contains('@')
            ? AddressKey.Of(owner) == AddressKey.Of(login)
            : string.Equals(owner, login, StringComparison.OrdinalIgnoreCase);
    }
}
