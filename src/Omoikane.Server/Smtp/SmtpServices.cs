using System.Net;
using System.Security.Cryptography.X509Certificates;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Queue;

namespace Omoikane.Server.Smtp;

/// <summary>Everything an SMTP session uses besides its connection (shared by all sessions of a service).</summary>
public sealed class SmtpServices
{
    public required SmtpdOptions Options { get; init; }
    /// <summary>The options with stress = yes, for sessions accepted while the service is at its process limit (null: same as Options).</summary>
    public SmtpdOptions? StressOptions { get; init; }
    public required MailLog Log { get; init; }
    public required Spool Spool { get; init; }
    public required Action<QueueMessageFile> Enqueue { get; init; }
    public required LocalRecipients Local { get; init; }
    public required Func<ISmtpPolicy> NewPolicy { get; init; }
    public Func<IPAddress, CancellationToken, ValueTask<Mail.Policy.ClientIdentity>> ResolveClient { get; init; }
        = (_, _) => ValueTask.FromResult(Mail.Policy.ClientIdentity.UnknownPerm);
    public Func<X509Certificate2?> Certificate { get; init; } = () => null;
    public Sasl.SaslMechanisms? Sasl { get; init; }
    public Sasl.AuthThrottle? AuthThrottle { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;

    private Sasl.AuthRateLimiter? _authRates;

    /// <summary>smtpd_client_auth_rate_limit: AUTH commands per client per anvil_rate_time_unit.</summary>
    public Sasl.AuthRateLimiter AuthRates => LazyInitializer.EnsureInitialized(ref _authRates,
        () => new Sasl.AuthRateLimiter(Options.AuthRateLimit, Options.AnvilRateTimeUnit, Time, ipv6PrefixLength: Options.Ipv6PrefixLength));

    private ClientConnectionRateLimiter? _connectionRates;

    /// <summary>smtpd_client_connection_rate_limit for this service, made on first use from Options.</summary>
    public ClientConnectionRateLimiter ConnectionRates => LazyInitializer.EnsureInitialized(ref _connectionRates,
        () => new ClientConnectionRateLimiter(Options.ConnectionRateLimit, Options.AnvilRateTimeUnit, Time, Options.Ipv6PrefixLength));
    /// <summary>DKIM signing of our own mail and SPF/DKIM/DMARC checks of mail from outside (null: neither).</summary>
    public Mail.Authentication.MessageAuthentication? Authentication { get; init; }
}
