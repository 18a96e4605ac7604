using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Authentication.Dmarc;
using Omoikane.Mail.Authentication.Spf;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Authentication;

/// <summary>
/// What to do with a finished message: header fields to put at the top (LF line ends; a DKIM-Signature for
/// our own mail, an Authentication-Results for mail from outside), whether to drop Authentication-Results
/// fields that claim our authserv-id, and a rejection when DMARC says reject and smtpd_dmarc_reject = yes.
/// </summary>
public sealed record AuthenticationVerdict(string Prepend, bool StripForgedResults, SmtpReply? Reject = null)
{
    public static readonly AuthenticationVerdict Nothing = new("", false);
    public SpfOutcome? Spf { get; init; }
    public IReadOnlyList<DkimOutcome> Dkim { get; init; } = [];
    public DmarcOutcome? Dmarc { get; init; }
    /// <summary>"d=example.com s=mail" of our signature, for the log.</summary>
    public string? Signed { get; init; }
}
