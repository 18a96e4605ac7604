using Omoikane.Mail.Smtp;
using Omoikane.Mail.Config;

namespace Omoikane.Server.Smtp;

/// <summary>The smtpd settings of one service (main.cf with the service's -o overrides), as an immutable snapshot.</summary>
public sealed record SmtpdOptions
{
    public required string MyHostname { get; init; }
    public required string Banner { get; init; }
    public required string SyslogName { get; init; }
    public bool HeloRequired { get; init; } = true;
    public long MessageSizeLimit { get; init; } = 10_240_000;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>smtpd_starttls_timeout: how long a TLS handshake (STARTTLS, or the wrapper's at connect) may take.</summary>
    public TimeSpan StartTlsTimeout { get; init; } = TimeSpan.FromSeconds(300);
    public int RecipientLimit { get; init; } = 1000;
    public int HardErrorLimit { get; init; } = 20;
    public int SoftErrorLimit { get; init; } = 10;
    public TimeSpan ErrorSleepTime { get; init; } = TimeSpan.FromSeconds(1);
    public int JunkCommandLimit { get; init; } = 100;
    public bool DisableVrfy { get; init; } = true;
    /// <summary>smtpd_forbid_bare_newline (Postfix 3.9): normalize (default, alias yes), reject or no; see BareNewlineMode.</summary>
    public BareNewlineMode BareNewline { get; init; } = BareNewlineMode.Normalize;
    public int BareNewlineRejectCode { get; init; } = 550;
    public bool SaslEnabled { get; init; }
    public string TlsLevel { get; init; } = "";
    public bool WrapperMode { get; init; }
    public bool TlsAuthOnly { get; init; }
    public bool BrokenSaslAuthClients { get; init; }
    public bool SmtpUtf8 { get; init; } = true;
    public bool SaslAuthenticatedHeader { get; init; }
    public bool TlsReceivedHeader { get; init; }
    public string MailName { get; init; } = "Omoikane";
    public int ConnectionCountLimit { get; init; } = 50;
    /// <summary>smtpd_client_connection_rate_limit: connections per client per anvil_rate_time_unit (0 = no limit).</summary>
    public int ConnectionRateLimit { get; init; }
    public TimeSpan AnvilRateTimeUnit { get; init; } = TimeSpan.FromSeconds(60);
    public IReadOnlyList<string> SaslSecurityOptions { get; init; } = ["noanonymous"];
    public IReadOnlyList<string> SaslTlsSecurityOptions { get; init; } = ["noanonymous"];
    public IReadOnlyList<string> SaslMechanisms { get; init; } = ["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"];
    public int AuthRateLimit { get; init; }
    /// <summary>smtpd_client_ipv6_prefix_length: IPv6 clients are counted by this network (Postfix 3.8).</summary>
    public int Ipv6PrefixLength { get; init; } = Sasl.ClientKey.DefaultIpv6PrefixLength;
    public IReadOnlyList<string> DiscardEhloKeywords { get; init; } = [];

    /// <summary>Command lines: RFC 5321 §4.5.3.1.4 allows 512, extensions raise it; Postfix reads up to line_length_limit 2048.</summary>
    public const int MaxCommandLine = 2048;
    /// <summary>AUTH lines may be up to 12288 octets (RFC 4954 §4).</summary>
    public const int MaxAuthLine = 12288;

    public bool TlsOffered => TlsLevel is "may" or "encrypt" or "verify" or "secure" or "dane" || WrapperMode;
    public bool TlsRequired => TlsLevel is "encrypt" or "verify" or "secure";
    /// <summary>Who may AUTH when: encrypt implies smtpd_tls_auth_only, as in Postfix.</summary>
    public Sasl.AuthGate AuthGate => new(SaslEnabled, TlsAuthOnly || TlsRequired);

    public static SmtpdOptions From(Parameters p)
    {
        var level = p.Get("smtpd_tls_security_level");
        if (level.Length == 0)
            level = p.GetBool("smtpd_enforce_tls") ? "encrypt" : p.GetBool("smtpd_use_tls") ? "may" : "none";
        BareNewlineModes.TryParse(p.Get("smtpd_forbid_bare_newline"), out var bare);
        return new SmtpdOptions
        {
            MyHostname = p.Get("myhostname"),
            Banner = p.Get("smtpd_banner"),
            SyslogName = p.Get("syslog_name"),
            HeloRequired = p.GetBool("smtpd_helo_required"),
            MessageSizeLimit = p.GetSize("message_size_limit"),
            Timeout = p.GetTime("smtpd_timeout"),
            StartTlsTimeout = p.GetTime("smtpd_starttls_timeout"),
            RecipientLimit = Math.Max(1, p.GetInt("smtpd_recipient_limit")),
            HardErrorLimit = Math.Max(1, p.GetInt("smtpd_hard_error_limit")),
            SoftErrorLimit = p.GetInt("smtpd_soft_error_limit"),
            ErrorSleepTime = p.GetTime("smtpd_error_sleep_time"),
            JunkCommandLimit = Math.Max(1, p.GetInt("smtpd_junk_command_limit")),
            DisableVrfy = p.GetBool("disable_vrfy_command"),
            BareNewline = bare,
            BareNewlineRejectCode = p.GetInt("smtpd_forbid_bare_newline_reject_code"),
            SaslEnabled = p.GetBool("smtpd_sasl_auth_enable"),
            TlsLevel = level,
            WrapperMode = p.GetBool("smtpd_tls_wrappermode"),
            TlsAuthOnly = p.GetBool("smtpd_tls_auth_only"),
            BrokenSaslAuthClients = p.GetBool("broken_sasl_auth_clients"),
            SmtpUtf8 = p.GetBool("smtputf8_enable"),
            SaslAuthenticatedHeader = p.GetBool("smtpd_sasl_authenticated_header"),
            TlsReceivedHeader = p.GetBool("smtpd_tls_received_header"),
            MailName = p.Get("mail_name"),
            ConnectionCountLimit = p.GetInt("smtpd_client_connection_count_limit"),
            ConnectionRateLimit = p.GetInt("smtpd_client_connection_rate_limit"),
            AnvilRateTimeUnit = p.GetTime("anvil_rate_time_unit"),
            SaslSecurityOptions = p.GetList("smtpd_sasl_security_options"),
            SaslTlsSecurityOptions = p.GetList("smtpd_sasl_tls_security_options"),
            SaslMechanisms = p.GetList("smtpd_sasl_mechanisms"),
            AuthRateLimit = p.GetInt("smtpd_client_auth_rate_limit"),
            Ipv6PrefixLength = p.GetInt("smtpd_client_ipv6_prefix_length"),
            DiscardEhloKeywords = p.GetList("smtpd_discard_ehlo_keywords"),
        };
    }
}
