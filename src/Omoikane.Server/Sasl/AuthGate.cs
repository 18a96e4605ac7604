namespace Omoikane.Server.Sasl;

/// <summary>Whether a session may log in at this moment.</summary>
public enum AuthAvailability
{
    /// <summary>Logins are accepted now, with the mechanisms <see cref="AuthGate.Mechanisms"/> names.</summary>
    Available,
    /// <summary>The service does not take logins at all (smtpd_sasl_auth_enable = no).</summary>
    NotEnabled,
    /// <summary>Logins need TLS first (security level encrypt, or *_tls_auth_only): nothing is offered or accepted.</summary>
    NeedsTls,
}

/// <summary>
/// The one decision, for SMTP, POP3 and IMAP alike, of whether a session may authenticate now and with
/// which mechanisms: a service that requires TLS for logins neither announces nor accepts any (password,
/// APOP, or SASL mechanism) before TLS is up, as Postfix does at smtpd_tls_security_level = encrypt or
/// smtpd_tls_auth_only = yes and Dovecot with ssl = required.
/// </summary>
/// <param name="Enabled">The service takes logins (smtpd_sasl_auth_enable; always for POP3 and IMAP).</param>
/// <param name="TlsRequired">Logins only under TLS.</param>
public readonly record struct AuthGate(bool Enabled, bool TlsRequired)
{
    public AuthAvailability For(bool isTls)
        => !Enabled ? AuthAvailability.NotEnabled
         : TlsRequired && !isTls ? AuthAvailability.NeedsTls
         : AuthAvailability.Available;

    /// <summary>The mechanisms to announce and accept on this connection: none unless logins are available.</summary>
    public IReadOnlyList<string> Mechanisms(SaslMechanisms? sasl, SaslContext context)
        => sasl is null || For(context.IsTls) != AuthAvailability.Available ? [] : sasl.Offered(context);
}
