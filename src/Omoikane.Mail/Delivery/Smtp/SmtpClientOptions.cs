using Omoikane.Mail.Config;

namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>Settings of the SMTP client (Postfix smtp(8) parameters), read once from main.cf.</summary>
public sealed record SmtpClientOptions
{
    public required string HeloName { get; init; }
    /// <summary>smtp_tls_security_level: "" or "none" (never), "may" (opportunistic), "encrypt" (mandatory).</summary>
    public string TlsLevel { get; init; } = "";
    public string Relayhost { get; init; } = "";
    /// <summary>Port for MX and A/AAAA deliveries (Omoikane's smtp_mx_port; 25 in Postfix).</summary>
    public int MxPort { get; init; } = 25;
    public int DestinationConcurrencyLimit { get; init; } = 20;
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan HeloTimeout { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan MailTimeout { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan RcptTimeout { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan DataInitTimeout { get; init; } = TimeSpan.FromSeconds(120);
    public TimeSpan DataXferTimeout { get; init; } = TimeSpan.FromSeconds(180);
    public TimeSpan DataDoneTimeout { get; init; } = TimeSpan.FromSeconds(600);
    public TimeSpan QuitTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>How long an idle connection is kept for the next message to the same host (smtp_connection_cache_time_limit).</summary>
    public TimeSpan ConnectionCacheTimeLimit { get; init; } = TimeSpan.FromSeconds(2);

    public bool TlsRequired => TlsLevel is "encrypt" or "verify" or "secure" or "dane-only";
    public bool TlsWanted => TlsRequired || TlsLevel is "may" or "dane";

    public static SmtpClientOptions From(Parameters p) => new()
    {
        HeloName = p.Get("smtp_helo_name"),
        TlsLevel = p.Get("smtp_tls_security_level").Trim().ToLowerInvariant(),
        Relayhost = p.Get("relayhost").Trim(),
        MxPort = p.GetInt("smtp_mx_port"),
        DestinationConcurrencyLimit = p.GetInt("smtp_destination_concurrency_limit"),
        ConnectTimeout = p.GetTime("smtp_connect_timeout"),
        HeloTimeout = p.GetTime("smtp_helo_timeout"),
        MailTimeout = p.GetTime("smtp_mail_timeout"),
        RcptTimeout = p.GetTime("smtp_rcpt_timeout"),
        DataInitTimeout = p.GetTime("smtp_data_init_timeout"),
        DataXferTimeout = p.GetTime("smtp_data_xfer_timeout"),
        DataDoneTimeout = p.GetTime("smtp_data_done_timeout"),
        QuitTimeout = p.GetTime("smtp_quit_timeout"),
        ConnectionCacheTimeLimit = p.GetTime("smtp_connection_cache_time_limit"),
    };
}
