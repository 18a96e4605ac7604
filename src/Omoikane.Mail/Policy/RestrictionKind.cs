namespace Omoikane.Mail.Policy;

/// <summary>The smtpd restrictions Omoikane understands (postconf(5), "SMTPD ACCESS RESTRICTIONS").</summary>
public enum RestrictionKind
{
    // Generic
    Permit, Reject, Defer, DeferIfPermit, DeferIfReject, WarnIfReject, RejectUnauthPipelining, Sleep, RejectPlaintextSession,
    // Client
    PermitMynetworks, PermitSaslAuthenticated, PermitPopBeforeSmtp, CheckClientAccess, CheckReverseClientHostnameAccess,
    RejectUnknownClientHostname, RejectUnknownReverseClientHostname, RejectRblClient, RejectRhsblClient, RejectRhsblReverseClient,
    // HELO
    CheckHeloAccess, RejectInvalidHeloHostname, RejectNonFqdnHeloHostname, RejectUnknownHeloHostname, RejectRhsblHelo,
    // Sender
    CheckSenderAccess, RejectNonFqdnSender, RejectUnknownSenderDomain, RejectUnlistedSender, RejectRhsblSender,
    RejectSenderLoginMismatch, RejectAuthenticatedSenderLoginMismatch, RejectKnownSenderLoginMismatch, RejectUnauthenticatedSenderLoginMismatch,
    // Recipient
    CheckRecipientAccess, RejectNonFqdnRecipient, RejectUnknownRecipientDomain, RejectUnlistedRecipient, RejectRhsblRecipient,
    PermitAuthDestination, RejectUnauthDestination, DeferUnauthDestination, RejectMultiRecipientBounce,
    /// <summary>A bare "type:name": the stage's own check_*_access (client, helo, sender, recipient).</summary>
    ImplicitAccess,
    /// <summary>A name listed in smtpd_restriction_classes.</summary>
    RestrictionClass,
    /// <summary>An unknown name or malformed use: evaluates to "451 4.3.5 Server configuration error" as Postfix does.</summary>
    ConfigurationError,
}
