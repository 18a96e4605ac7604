using System.Net;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Smtp;

namespace Omoikane.Server.Smtp;

/// <summary>What the policy knows of a session at the moment of a check.</summary>
public sealed record SmtpPolicyInput
{
    public required IPAddress ClientAddress { get; init; }
    public required Mail.Policy.ClientIdentity Client { get; init; }
    public string? Helo { get; init; }
    public MailAddress? Sender { get; init; }
    public MailAddress? Recipient { get; init; }
    public string? SaslUsername { get; init; }
    public string? SaslMethod { get; init; }
    public bool Tls { get; init; }
    public string Protocol { get; init; } = "ESMTP";
    public string? QueueId { get; init; }
    public int RecipientCount { get; init; }
    public IPAddress? ServerAddress { get; init; }
}

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
    ValueTask<PolicyAnswer> CheckClientAsync(SmtpPolicyInput input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckHeloAsync(SmtpPolicyInput input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckSenderAsync(SmtpPolicyInput input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckRecipientAsync(SmtpPolicyInput input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckDataAsync(SmtpPolicyInput input, CancellationToken ct);
    ValueTask<PolicyAnswer> CheckEndOfDataAsync(SmtpPolicyInput input, CancellationToken ct);
    /// <summary>True when the client may skip per-client limits (smtpd_client_event_limit_exceptions) and gets missing headers added.</summary>
    bool IsTrustedNetwork(IPAddress address);
}

