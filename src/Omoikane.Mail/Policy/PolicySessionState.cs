using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Policy;

/// <summary>
/// Per-session memory between checks: a defer_if_permit raised at the client, HELO or MAIL stage
/// turns a later "permit" into that deferral (smtpd_check.c defer_if_permit_client/_helo/_sender).
/// One instance per SMTP session; not thread-safe (a session checks one command at a time).
/// </summary>
public sealed class PolicySessionState
{
    public SmtpReply? DeferIfPermitClient { get; internal set; }
    public SmtpReply? DeferIfPermitHelo { get; internal set; }
    public SmtpReply? DeferIfPermitSender { get; internal set; }
}
