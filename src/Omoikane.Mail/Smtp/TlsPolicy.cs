using System.Net.Security;
using System.Security.Authentication;

namespace Omoikane.Mail.Smtp;

/// <summary>
/// The TLS settings every connection uses, server (SMTP STARTTLS, implicit TLS, POP3) and client
/// (outbound SMTP) alike: TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1) and no renegotiation
/// started by the peer. The server offers, on Linux, only forward-secret AEAD cipher suites (the
/// "intermediate" set of Mozilla's server guidelines; other platforms do not let a process choose). The
/// outbound client keeps the system's cipher list: opportunistic TLS to an old peer with weaker suites is
/// still better than plaintext (Postfix's smtp_tls_ciphers = medium reasons the same way).
/// </summary>
public static class TlsPolicy
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    private static readonly TlsCipherSuite[] Suites =
    [
        // TLS 1.3
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        // TLS 1.2: ephemeral key exchange, AEAD only
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    ];

    /// <summary>The cipher suite policy, or null where the platform decides (only Linux and FreeBSD let us).</summary>
    public static CipherSuitesPolicy? CipherSuites { get; } =
        OperatingSystem.IsLinux() || OperatingSystem.IsFreeBSD() ? new CipherSuitesPolicy(Suites) : null;

    /// <summary>Applies the policy to a server handshake's options.</summary>
    public static SslServerAuthenticationOptions Apply(SslServerAuthenticationOptions options)
    {
        options.EnabledSslProtocols = Protocols;
        options.AllowRenegotiation = false;
        if (CipherSuites is { } suites) options.CipherSuitesPolicy = suites;
        return options;
    }

    /// <summary>Applies the policy to a client handshake's options (protocols and renegotiation; see above).</summary>
    public static SslClientAuthenticationOptions Apply(SslClientAuthenticationOptions options)
    {
        options.EnabledSslProtocols = Protocols;
        options.AllowRenegotiation = false;
        return options;
    }
}
