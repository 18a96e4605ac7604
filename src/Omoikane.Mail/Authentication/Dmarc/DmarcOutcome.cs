namespace Omoikane.Mail.Authentication.Dmarc;

/// <summary>
/// The DMARC verdict: result, the RFC5322.From domain, the policy that applies to it (p= or sp=, null
/// without a record) and the disposition after pct= sampling (RFC 7489 §6.6.4).
/// </summary>
public sealed record DmarcOutcome(DmarcResult Result, string FromDomain, DmarcPolicy? Policy, DmarcPolicy Disposition, string Reason)
{
    public string ResultText => Result.ToString().ToLowerInvariant();
}
