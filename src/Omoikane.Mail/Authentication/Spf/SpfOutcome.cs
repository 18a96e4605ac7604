namespace Omoikane.Mail.Authentication.Spf;

/// <summary>
/// The SPF verdict for one message: the result, the identity checked (MAIL FROM, or postmaster@HELO for the
/// null sender, RFC 7208 §2.4), its domain, and a short reason for logs and comments.
/// </summary>
public sealed record SpfOutcome(SpfResult Result, string Identity, string Domain, bool FromHelo, string Reason)
{
    /// <summary>"pass", "softfail", ... (RFC 8601 §2.7.2).</summary>
    public string ResultText => Result.ToString().ToLowerInvariant();
}
