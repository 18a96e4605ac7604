using System.Security.Cryptography.X509Certificates;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Policy;

namespace Omoikane.Server.Pop3;

/// <summary>Everything a POP3 session uses besides its connection (shared by all sessions of a service).</summary>
public sealed class Pop3Services
{
    public required Pop3Options Options { get; init; }
    /// <summary>The options with stress = yes, for sessions accepted while the service is at its process limit (null: same as Options).</summary>
    public Pop3Options? StressOptions { get; init; }
    public required MailLog Log { get; init; }
    public required IUserStore Users { get; init; }
    /// <summary>virtual_mailbox_base: the Maildir of local@domain is MailboxBase/domain/local/.</summary>
    public required string MailboxBase { get; init; }
    /// <summary>The SASL mechanisms for AUTH (RFC 5034); null offers no AUTH.</summary>
    public Sasl.SaslMechanisms? Sasl { get; init; }
    /// <summary>The failed-login throttle, the same instance SMTP AUTH uses.</summary>
    public Sasl.AuthThrottle? AuthThrottle { get; init; }
    /// <summary>permit_pop_before_smtp: every successful login is recorded here.</summary>
    public PopBeforeSmtpRegistry? PopBeforeSmtp { get; init; }
    public Func<X509Certificate2?> Certificate { get; init; } = () => null;
    /// <summary>Maildrops locked by sessions of this process.</summary>
    public MaildropLocks Locks { get; init; } = MaildropLocks.Shared;
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
