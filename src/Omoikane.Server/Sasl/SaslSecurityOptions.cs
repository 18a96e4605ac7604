namespace Omoikane.Server.Sasl;

/// <summary>
/// Postfix's smtpd_sasl_security_options / smtpd_sasl_tls_security_options (SASL_README). Enforced:
/// noanonymous (no ANONYMOUS mechanism exists here, so always met) and noplaintext (drops PLAIN and
/// LOGIN). Accepted without effect: noactive, nodictionary, mutual_auth, forward_secrecy.
/// </summary>
[Flags]
public enum SaslSecurityOptions
{
    None = 0,
    NoAnonymous = 1,
    NoPlaintext = 2,
    NoActive = 4,
    NoDictionary = 8,
    MutualAuth = 16,
    ForwardSecrecy = 32,
}
