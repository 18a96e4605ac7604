using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Authentication;

/// <summary>
/// The sender-authentication settings (docs/authentication.md): the authserv-id (myhostname), the DKIM
/// signing keys from dkim_signing_domains and dkim_key_directory, whether mail from outside is checked
/// (smtpd_authentication_checks) and whether DMARC p=reject failures are refused (smtpd_dmarc_reject).
/// </summary>
public sealed record AuthenticationOptions
{
    public required string AuthServId { get; init; }
    public IReadOnlyList<DkimSigningKey> SigningKeys { get; init; } = [];
    public bool InboundChecks { get; init; }
    public bool DmarcReject { get; init; }

    /// <summary>Reads the parameters; a malformed dkim_signing_domains entry is reported and skipped.</summary>
    public static AuthenticationOptions FromParameters(Parameters p, ICollection<string> problems)
    {
        var directory = p.Get("dkim_key_directory");
        var defaultSelector = p.Get("dkim_selector");
        var keys = new List<DkimSigningKey>();
        foreach (var entry in p.GetList("dkim_signing_domains"))
        {
            // DOMAIN or DOMAIN:SELECTOR; the key is DIRECTORY/DOMAIN.SELECTOR.key.
            var colon = entry.IndexOf(':');
            var domain = (colon < 0 ? entry : entry[..colon]).TrimEnd('.').ToLowerInvariant();
            var selector = colon < 0 ? defaultSelector : entry[(colon + 1)..];
            if (!Spf.SpfChecker.IsValidDomain(domain) || selector.Length == 0 || selector.Contains('/') || domain.Contains('/'))
            {
                problems.Add($"dkim_signing_domains: bad entry \"{entry}\" (expected DOMAIN or DOMAIN:SELECTOR)");
                continue;
            }
            keys.Add(new DkimSigningKey(domain, selector, Path.Combine(directory, DkimSigningKey.FileName(domain, selector))));
        }
        return new AuthenticationOptions
        {
            AuthServId = p.Get("myhostname"),
            SigningKeys = keys,
            InboundChecks = p.GetBool("smtpd_authentication_checks"),
            DmarcReject = p.GetBool("smtpd_dmarc_reject"),
        };
    }
}
