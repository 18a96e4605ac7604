namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>The verdict on one DKIM-Signature header: result, signing domain (d=), selector (s=), algorithm (a=).</summary>
public sealed record DkimOutcome(DkimResult Result, string Domain, string Selector, string Algorithm, string Reason)
{
    public string ResultText => Result.ToString().ToLowerInvariant();
}
