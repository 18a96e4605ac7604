using Omoikane.Mail.Config;

namespace Omoikane.Server.Pop3;

/// <summary>The pop3d settings of one service (main.cf with the service's -o overrides), as an immutable snapshot.</summary>
public sealed record Pop3Options
{
    public required string MyHostname { get; init; }
    /// <summary>pop3d_banner: the greeting text after "+OK" (no version, STYLE.md).</summary>
    public required string Banner { get; init; }
    public required string SyslogName { get; init; }
    /// <summary>pop3d_apop_enable: offer APOP (a timestamp in the greeting, RFC 1939 §7).</summary>
    public bool ApopEnabled { get; init; } = true;
    /// <summary>pop3d_tls_security_level: none, may, or encrypt (plaintext logins refused before STLS).</summary>
    public string TlsLevel { get; init; } = "none";
    /// <summary>pop3d_tls_wrappermode: TLS from the first byte (pop3s, port 995).</summary>
    public bool WrapperMode { get; init; }
    /// <summary>pop3d_timeout: how long one command line may take to arrive.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>pop3d_starttls_timeout: how long a TLS handshake (STLS, or the wrapper's at connect) may take.</summary>
    public TimeSpan StartTlsTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>pop3d_login_failure_limit: failed logins in one session before it is closed (0 = no limit).</summary>
    public int LoginFailureLimit { get; init; } = 5;
    /// <summary>Unknown, malformed or out-of-state commands before the session is closed.</summary>
    public int BadCommandLimit { get; init; } = 20;

    /// <summary>RFC 2449 §4: command lines are at most 255 octets; a little slack for long user names.</summary>
    public const int MaxCommandLine = 512;
    /// <summary>RFC 5034 §4: AUTH lines are not bound by the 255-octet limit; as SMTP AUTH (RFC 4954 §4).</summary>
    public const int MaxAuthLine = 12288;

    public bool TlsOffered => TlsLevel is "may" or "encrypt" or "verify" or "secure" or "dane" || WrapperMode;
    public bool TlsRequired => TlsLevel is "encrypt" or "verify" or "secure";
    /// <summary>Logins are always enabled; at encrypt only after STLS (or on a wrapper-mode service).</summary>
    public Sasl.AuthGate AuthGate => new(true, TlsRequired);

    public static Pop3Options From(Parameters p)
    {
        var level = p.Get("pop3d_tls_security_level").Trim().ToLowerInvariant();
        if (level.Length == 0)
            level = p.GetBool("smtpd_enforce_tls") ? "encrypt" : p.GetBool("smtpd_use_tls") ? "may" : "none";
        var timeout = p.GetTime("pop3d_timeout");
        return new Pop3Options
        {
            MyHostname = p.Get("myhostname"),
            Banner = p.Get("pop3d_banner"),
            SyslogName = p.Get("syslog_name"),
            ApopEnabled = p.GetBool("pop3d_apop_enable"),
            TlsLevel = level,
            WrapperMode = p.GetBool("pop3d_tls_wrappermode"),
            Timeout = timeout > TimeSpan.Zero ? timeout : TimeSpan.FromSeconds(600),
            StartTlsTimeout = p.GetTime("pop3d_starttls_timeout"),
            LoginFailureLimit = Math.Max(0, p.GetInt("pop3d_login_failure_limit")),
        };
    }
}
