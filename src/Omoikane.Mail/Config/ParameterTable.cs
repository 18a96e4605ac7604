namespace Omoikane.Mail.Config;

public enum ParameterKind { String, Bool, Int, Time, Size, List, Path }

/// <summary>
/// One known parameter: name, default (may reference other parameters with $name), kind and bounds
/// (Postfix smtpd.c CONFIG_*_TABLE). TimeUnit is the unit of a bare number ('s', 'm', 'h', 'd', 'w').
/// </summary>
public sealed record ParameterDef(string Name, string Default, ParameterKind Kind, long Min = 0, long Max = long.MaxValue, char TimeUnit = 's', bool Omoikane = false);

/// <summary>Every parameter Omoikane honours, with Postfix's defaults unless documented otherwise (CONTRACT.md, "Safe defaults").</summary>
public static class ParameterTable
{
    private static readonly ParameterDef[] Defs =
    [
        // Identity and addressing
        new("myhostname", "localhost", ParameterKind.String),
        new("mydomain", "localdomain", ParameterKind.String),
        new("myorigin", "$myhostname", ParameterKind.String),
        new("mydestination", "$myhostname, localhost.$mydomain, localhost", ParameterKind.List),
        new("mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", ParameterKind.List),
        new("mynetworks_style", "host", ParameterKind.String),
        new("relay_domains", "", ParameterKind.List),
        new("inet_interfaces", "all", ParameterKind.List),
        new("inet_protocols", "all", ParameterKind.List),
        new("mail_name", "Omoikane", ParameterKind.String),
        new("recipient_delimiter", "", ParameterKind.String),
        new("alias_maps", "", ParameterKind.List),
        new("alias_database", "", ParameterKind.List),
        new("local_recipient_maps", "", ParameterKind.List),
        new("append_dot_mydomain", "no", ParameterKind.Bool),
        // Local delivery (docs/local-delivery.md)
        new("allow_mail_to_commands", "alias, forward", ParameterKind.List),
        new("allow_mail_to_files", "alias, forward", ParameterKind.List),
        new("command_time_limit", "1000s", ParameterKind.Time, Min: 1),
        new("mailbox_size_limit", "51200000", ParameterKind.Size),
        new("virtual_mailbox_limit", "51200000", ParameterKind.Size),

        // smtpd
        new("smtpd_banner", "$myhostname ESMTP $mail_name", ParameterKind.String),
        new("smtpd_helo_required", "yes", ParameterKind.Bool),
        new("smtpd_client_restrictions", "", ParameterKind.List),
        new("smtpd_helo_restrictions", "", ParameterKind.List),
        new("smtpd_sender_restrictions", "", ParameterKind.List),
        new("smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", ParameterKind.List),
        new("smtpd_recipient_restrictions", "", ParameterKind.List),
        new("smtpd_data_restrictions", "", ParameterKind.List),
        new("smtpd_end_of_data_restrictions", "", ParameterKind.List),
        new("smtpd_etrn_restrictions", "", ParameterKind.List),
        new("smtpd_delay_reject", "yes", ParameterKind.Bool),
        new("smtpd_reject_unlisted_recipient", "yes", ParameterKind.Bool),
        new("smtpd_reject_unlisted_sender", "no", ParameterKind.Bool),
        new("smtpd_restriction_classes", "", ParameterKind.List),
        new("smtpd_sasl_auth_enable", "no", ParameterKind.Bool),
        new("smtpd_sasl_security_options", "noanonymous", ParameterKind.List),
        new("smtpd_sasl_tls_security_options", "$smtpd_sasl_security_options", ParameterKind.List),
        new("smtpd_sasl_authenticated_header", "no", ParameterKind.Bool),
        new("smtpd_sasl_local_domain", "", ParameterKind.String),
        new("smtpd_sender_login_maps", "", ParameterKind.List),
        new("smtpd_sasl_type", "omoikane", ParameterKind.String),
        new("smtpd_sasl_path", "smtpd", ParameterKind.String),
        new("smtpd_sasl_mechanisms", "SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", ParameterKind.List, Omoikane: true),
        new("smtpd_tls_auth_only", "no", ParameterKind.Bool),
        new("broken_sasl_auth_clients", "no", ParameterKind.Bool),
        new("smtpd_tls_cert_file", "", ParameterKind.Path),
        new("smtpd_tls_key_file", "$smtpd_tls_cert_file", ParameterKind.Path),
        new("smtpd_tls_security_level", "", ParameterKind.String),
        new("smtpd_use_tls", "no", ParameterKind.Bool),
        new("smtpd_enforce_tls", "no", ParameterKind.Bool),
        new("smtpd_tls_wrappermode", "no", ParameterKind.Bool),
        new("smtpd_tls_loglevel", "0", ParameterKind.Int),
        new("smtpd_tls_received_header", "no", ParameterKind.Bool),
        new("message_size_limit", "10240000", ParameterKind.Size),
        new("smtpd_timeout", "${stress?{10}:{300}}s", ParameterKind.Time, 1),
        new("smtpd_starttls_timeout", "${stress?{10}:{300}}s", ParameterKind.Time, 1),
        // "yes" in a session that started while its service was at its process limit (master.cf maxproc), as
        // Postfix's master(8) sets it; the ${stress?{x}:{y}} defaults then take their short values (STRESS_README).
        new("stress", "", ParameterKind.String),
        new("smtpd_per_record_deadline", "yes", ParameterKind.Bool),
        new("smtpd_client_connection_count_limit", "50", ParameterKind.Int),
        new("smtpd_client_connection_rate_limit", "0", ParameterKind.Int),
        new("smtpd_client_message_rate_limit", "0", ParameterKind.Int),
        new("smtpd_client_recipient_rate_limit", "0", ParameterKind.Int),
        new("smtpd_client_auth_rate_limit", "0", ParameterKind.Int),
        new("smtpd_client_event_limit_exceptions", "$mynetworks", ParameterKind.List),
        new("smtpd_client_ipv6_prefix_length", "84", ParameterKind.Int, 0, 128),
        new("anvil_rate_time_unit", "60s", ParameterKind.Time, 1),
        new("disable_vrfy_command", "yes", ParameterKind.Bool),
        new("smtpd_recipient_limit", "1000", ParameterKind.Int, 1),
        new("smtpd_recipient_overshoot_limit", "1000", ParameterKind.Int, 1),
        new("smtpd_hard_error_limit", "${stress?{1}:{20}}", ParameterKind.Int, 1),
        new("smtpd_soft_error_limit", "10", ParameterKind.Int),
        new("smtpd_error_sleep_time", "1s", ParameterKind.Time),
        new("smtpd_junk_command_limit", "${stress?{1}:{100}}", ParameterKind.Int, 1),
        new("smtpd_forbid_bare_newline", "normalize", ParameterKind.String),
        new("smtpd_forbid_bare_newline_reject_code", "550", ParameterKind.Int, 400, 599),
        new("smtpd_forbid_bare_newline_exclusions", "$mynetworks", ParameterKind.List),
        new("smtpd_forbid_unauth_pipelining", "yes", ParameterKind.Bool),
        new("smtpd_discard_ehlo_keywords", "", ParameterKind.List),
        new("smtpd_authorized_xclient_hosts", "", ParameterKind.List),
        new("smtputf8_enable", "yes", ParameterKind.Bool),
        new("smtpd_peername_lookup", "yes", ParameterKind.Bool),
        new("unknown_client_reject_code", "450", ParameterKind.Int, 400, 599),
        new("unknown_hostname_reject_code", "450", ParameterKind.Int, 400, 599),
        new("unknown_address_reject_code", "450", ParameterKind.Int, 400, 599),
        new("unknown_helo_hostname_tls_reject_code", "$unknown_hostname_reject_code", ParameterKind.Int, 400, 599),
        new("invalid_hostname_reject_code", "501", ParameterKind.Int, 400, 599),
        new("non_fqdn_reject_code", "504", ParameterKind.Int, 400, 599),
        new("unknown_local_recipient_reject_code", "550", ParameterKind.Int, 400, 599),
        new("unknown_relay_recipient_reject_code", "550", ParameterKind.Int, 400, 599),
        new("unverified_recipient_reject_code", "450", ParameterKind.Int, 400, 599),
        new("relay_domains_reject_code", "554", ParameterKind.Int, 400, 599),
        new("access_map_reject_code", "554", ParameterKind.Int, 400, 599),
        new("access_map_defer_code", "450", ParameterKind.Int, 400, 599),
        new("maps_rbl_reject_code", "554", ParameterKind.Int, 400, 599),
        new("reject_code", "554", ParameterKind.Int, 400, 599),
        new("defer_code", "450", ParameterKind.Int, 400, 599),
        new("plaintext_reject_code", "450", ParameterKind.Int, 400, 599),
        new("unknown_virtual_alias_reject_code", "550", ParameterKind.Int, 400, 599),
        new("unknown_address_tempfail_action", "defer_if_permit", ParameterKind.String),
        new("unknown_helo_hostname_tempfail_action", "defer_if_permit", ParameterKind.String),
        new("reject_tempfail_action", "defer_if_permit", ParameterKind.String),
        new("syslog_name", "postfix-omoikane", ParameterKind.String),
        new("syslog_facility", "mail", ParameterKind.String),
        new("maillog_file", "$data_directory/log/maillog", ParameterKind.Path, Omoikane: false),

        // Queue and delivery
        new("relayhost", "", ParameterKind.String),
        new("transport_maps", "", ParameterKind.List),
        new("default_transport", "smtp", ParameterKind.String),
        new("maximal_queue_lifetime", "5d", ParameterKind.Time, TimeUnit: 'd'),
        new("bounce_queue_lifetime", "5d", ParameterKind.Time, TimeUnit: 'd'),
        new("minimal_backoff_time", "300s", ParameterKind.Time, 1),
        new("maximal_backoff_time", "4000s", ParameterKind.Time, 1),
        new("queue_run_delay", "300s", ParameterKind.Time, 1),
        new("delay_warning_time", "0h", ParameterKind.Time, TimeUnit: 'h'),
        new("default_destination_concurrency_limit", "20", ParameterKind.Int, 1),
        new("smtp_destination_concurrency_limit", "$default_destination_concurrency_limit", ParameterKind.Int, 1),
        new("qmgr_message_active_limit", "20000", ParameterKind.Int, 1),
        new("smtp_tls_security_level", "", ParameterKind.String),
        new("smtp_helo_name", "$myhostname", ParameterKind.String),
        new("smtp_connect_timeout", "30s", ParameterKind.Time, 1),
        new("smtp_helo_timeout", "300s", ParameterKind.Time, 1),
        new("smtp_mail_timeout", "300s", ParameterKind.Time, 1),
        new("smtp_rcpt_timeout", "300s", ParameterKind.Time, 1),
        new("smtp_data_init_timeout", "120s", ParameterKind.Time, 1),
        new("smtp_data_xfer_timeout", "180s", ParameterKind.Time, 1),
        new("smtp_data_done_timeout", "600s", ParameterKind.Time, 1),
        new("smtp_quit_timeout", "300s", ParameterKind.Time, 1),
        new("smtp_connection_cache_time_limit", "2s", ParameterKind.Time),
        new("bounce_notice_recipient", "postmaster", ParameterKind.String),
        new("notify_classes", "resource, software", ParameterKind.List),
        new("double_bounce_sender", "double-bounce", ParameterKind.String),
        new("queue_directory", "$data_directory/queue", ParameterKind.Path),
        new("data_directory", "omoikane-data", ParameterKind.Path),
        new("virtual_mailbox_base", "$data_directory/mail", ParameterKind.Path),
        new("compatibility_level", "3.6", ParameterKind.String),

        // Omoikane's own
        new("dns_servers", "", ParameterKind.List, Omoikane: true),
        new("dns_timeout", "5s", ParameterKind.Time, 1, Omoikane: true),
        // Port of MX and A/AAAA deliveries (25 in Postfix); lets a test or a lab point MX delivery at another port.
        new("smtp_mx_port", "25", ParameterKind.Int, 1, 65535, Omoikane: true),
        new("pop_before_smtp_lifetime", "10m", ParameterKind.Time, 1, TimeUnit: 'm', Omoikane: true),
        new("pop3d_apop_enable", "yes", ParameterKind.Bool, Omoikane: true),
        new("pop3d_banner", "$myhostname POP3 server ready", ParameterKind.String, Omoikane: true),
        new("pop3d_tls_security_level", "$smtpd_tls_security_level", ParameterKind.String, Omoikane: true),
        new("pop3d_tls_wrappermode", "no", ParameterKind.Bool, Omoikane: true),
        new("pop3d_timeout", "${stress?{10}:{600}}s", ParameterKind.Time, 1, Omoikane: true),
        new("pop3d_starttls_timeout", "$smtpd_starttls_timeout", ParameterKind.Time, 1, Omoikane: true),
        new("pop3d_client_connection_count_limit", "$smtpd_client_connection_count_limit", ParameterKind.Int, Omoikane: true),
        new("pop3d_login_failure_limit", "5", ParameterKind.Int, Omoikane: true),
        new("user_database", "$data_directory/users", ParameterKind.Path, Omoikane: true),
        new("hosts_access_directory", "$config_directory", ParameterKind.Path, Omoikane: true),
        new("config_directory", "", ParameterKind.Path),
        new("smtpd_dmarc_reject", "no", ParameterKind.Bool, Omoikane: true),
        // Sender authentication (docs/authentication.md)
        new("smtpd_authentication_checks", "no", ParameterKind.Bool, Omoikane: true),
        new("dkim_signing_domains", "", ParameterKind.List, Omoikane: true),
        new("dkim_selector", "mail", ParameterKind.String, Omoikane: true),
        new("dkim_key_directory", "$data_directory/dkim", ParameterKind.Path, Omoikane: true),
    ];

    /// <summary>Postfix parameters Omoikane accepts without effect (so a migrated main.cf does not warn); why in <see cref="IgnoredParameters"/>.</summary>
    public static readonly IReadOnlySet<string> IgnoredPostfixNames = new HashSet<string>(IgnoredParameters.Reasons.Keys, StringComparer.Ordinal);

    private static readonly Dictionary<string, ParameterDef> ByName =
        Defs.ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static IEnumerable<ParameterDef> All => Defs;

    public static bool TryGet(string name, out ParameterDef def) => ByName.TryGetValue(name, out def!);

    public static bool IsKnown(string name) => ByName.ContainsKey(name);
}
