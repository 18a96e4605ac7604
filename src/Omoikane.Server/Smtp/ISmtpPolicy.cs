using System.Net;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Smtp;

namespace Omoikane.Server.Smtp;

/// <summary>Accept, or refuse with a reply; warnings are log lines ("warn_if_reject", WARN actions).</summary>
public readonly record struct PolicyAnswer(bool Accepted, SmtpReply Reply, IReadOnlyList<string>? Warnings = null)
{
    public static PolicyAnswer Accept(IReadOnlyList<string>? warnings = null) => new(true, default, warnings);
    public static PolicyAnswer Refuse(SmtpReply reply, IReadOnlyList<string>? warnings = null) => new(false, reply, warnings);
}

/// <summary>
/// The access policy of one SMTP session, consulted stage by stage (Postfix smtpd_check.c); it keeps
/// the session's deferred verdicts (defer_if_permit) between stages.
/// With smtpd_delay_reject = yes the implementation evaluates client, helo and sender restrictions at RCPT.
/// </summary>
public interface ISmtpPolicy
{
    ValueTask<PolicyAnswer> CheckClientAsync(PolicyContext input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckHeloAsync(PolicyContext input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckSenderAsync(PolicyContext input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckRecipientAsync(PolicyContext input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckDataAsync(PolicyContext input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckEndOfDataAsync(PolicyContext input, CancellationToken ct);
    /// <summary>True when the client may skip per-client limits (smtpd_client_event_limit_exceptions) and gets missing headers added.</summary>
    bool IsTrustedNetwork(IPAddress address);
    /// <summary>smtpd_forbid_bare_newline_exclusions: the client gets smtpd_forbid_bare_newline = no (a lookup failure counts as no match).</summary>
    ValueTask<bool> IsBareNewlineExcludedAsync(IPAddress address, CancellationToken ct);
}

