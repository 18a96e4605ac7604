using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Authentication.Spf;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Authentication.Dmarc;

/// <summary>
/// DMARC (RFC 7489): finds the record at _dmarc.FROMDOMAIN or else at _dmarc.ORGDOMAIN (§6.6.3), passes when
/// SPF or DKIM passed for an identifier aligned with the From domain (§3.1, aspf/adkim), and otherwise fails
/// with the policy p= (or sp= for a subdomain, §6.3) sampled by pct= (§6.6.4). A DNS temporary failure is
/// temperror, as is a failure to pass while an aligned SPF or DKIM check failed temporarily.
/// </summary>
public sealed class DmarcEvaluator
{
    private readonly IDnsResolver _dns;
    private readonly Func<int> _sample;

    /// <param name="sample">A number in 0..99 per message; the policy applies when it is below pct=.</param>
    public DmarcEvaluator(IDnsResolver dns, Func<int>? sample = null)
    {
        _dns = dns;
        _sample = sample ?? (() => Random.Shared.Next(100));
    }

    public async ValueTask<DmarcOutcome> EvaluateAsync(string fromDomain, SpfOutcome spf, IReadOnlyList<DkimOutcome> dkim, CancellationToken ct = default)
    {
        fromDomain = fromDomain.TrimEnd('.').ToLowerInvariant();
        var org = OrganizationalDomain.Of(fromDomain);
        var (status, record) = await FindRecordAsync(fromDomain, ct).ConfigureAwait(false);
        var atOrg = false;
        if (status == DnsStatus.TempFail) return new DmarcOutcome(DmarcResult.TempError, fromDomain, null, DmarcPolicy.None, $"DNS temporary failure looking up _dmarc.{fromDomain}");
        if (record is null && org != fromDomain)
        {
            (status, record) = await FindRecordAsync(org, ct).ConfigureAwait(false);
            if (status == DnsStatus.TempFail) return new DmarcOutcome(DmarcResult.TempError, fromDomain, null, DmarcPolicy.None, $"DNS temporary failure looking up _dmarc.{org}");
            atOrg = true;
        }
        if (record is null) return new DmarcOutcome(DmarcResult.None, fromDomain, null, DmarcPolicy.None, "no DMARC record");

        var policy = atOrg && record.SubdomainPolicy is { } sp ? sp : record.Policy;
        var spfAligned = spf.Result == SpfResult.Pass && !spf.FromHelo && OrganizationalDomain.Aligned(spf.Domain, fromDomain, record.StrictSpf);
        var dkimAligned = dkim.FirstOrDefault(d => d.Result == DkimResult.Pass && OrganizationalDomain.Aligned(d.Domain, fromDomain, record.StrictDkim));
        if (spfAligned) return new DmarcOutcome(DmarcResult.Pass, fromDomain, policy, DmarcPolicy.None, "aligned SPF pass");
        if (dkimAligned is not null) return new DmarcOutcome(DmarcResult.Pass, fromDomain, policy, DmarcPolicy.None, $"aligned DKIM pass (d={dkimAligned.Domain})");

        // No aligned pass; a temporary failure of an aligned identifier could still have passed.
        var spfTemp = spf.Result == SpfResult.TempError && OrganizationalDomain.Aligned(spf.Domain, fromDomain, record.StrictSpf);
        var dkimTemp = dkim.Any(d => d.Result == DkimResult.TempError && OrganizationalDomain.Aligned(d.Domain, fromDomain, record.StrictDkim));
        if (spfTemp || dkimTemp) return new DmarcOutcome(DmarcResult.TempError, fromDomain, policy, DmarcPolicy.None, "temporary failure of an aligned check");

        var disposition = policy;
        if (record.Percent < 100 && _sample() >= record.Percent)
            disposition = policy switch { DmarcPolicy.Reject => DmarcPolicy.Quarantine, _ => DmarcPolicy.None };
        return new DmarcOutcome(DmarcResult.Fail, fromDomain, policy, disposition, "no aligned SPF or DKIM pass");
    }

    private async ValueTask<(DnsStatus, DmarcRecord?)> FindRecordAsync(string domain, CancellationToken ct)
    {
        var answer = await _dns.LookupTxtAsync("_dmarc." + domain, ct).ConfigureAwait(false);
        if (answer.Status == DnsStatus.TempFail) return (DnsStatus.TempFail, null);
        // RFC 7489 §6.6.3: records not starting with v=DMARC1 are ignored; more than one means none.
        var records = answer.Records.Where(DmarcRecord.IsDmarcRecord).ToList();
        if (records.Count != 1) return (answer.Status, null);
        return (DnsStatus.Ok, DmarcRecord.Parse(records[0]));
    }
}
