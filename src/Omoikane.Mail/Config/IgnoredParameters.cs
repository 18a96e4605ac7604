namespace Omoikane.Mail.Config;

/// <summary>
/// Postfix parameters Omoikane accepts without effect, so that a migrated main.cf does not warn, each with
/// what happens instead (omoikane check --migration prints it). Some are also in ParameterTable, so their
/// values are still type-checked. A name here must be read by no code (ParameterBindingTests checks both ways).
/// </summary>
public static class IgnoredParameters
{
    private const string Maildir = "mail goes to the Maildir $virtual_mailbox_base/DOMAIN/LOCAL/ of a user in user_database (omoikane user add)";
    private const string OwnSasl = "authentication is built in (no Cyrus SASL or Dovecot): users and passwords are in user_database, imported with omoikane user add";
    private const string OneProgram = "a path of Postfix's installation; Omoikane is one program and keeps all its state under data_directory";
    private const string NoRewriting = "addresses are used as the client wrote them: Omoikane does no address rewriting (no canonical, masquerading or relocated maps)";
    private const string ServerProtocols = "the server speaks TLS 1.2 and 1.3 only, with forward-secret AEAD cipher suites (fixed)";
    private const string ClientProtocols = "outbound TLS speaks TLS 1.2 and 1.3 only, with the system's cipher list (fixed)";
    private const string OneCertificate = "one certificate per server: smtpd_tls_cert_file with smtpd_tls_key_file (RSA or ECDSA)";
    private const string NoTlsCache = "no TLS session cache on disk: every connection makes a full handshake";
    private const string NoClientCertificates = "no client certificates are asked for, so no CA list is needed; the chain sent is the one in smtpd_tls_cert_file";
    private const string NoMilters = "no milters or content filters; DKIM, SPF and DMARC are built in (smtpd_authentication_checks, dkim_signing_domains)";
    private const string Dns = "DNS is always used for MX and A/AAAA lookups of outbound mail (dns_servers, else the system's resolvers)";
    private const string NoNotices = "no postmaster notices of errors; problems are written to the maillog";
    private const string NoSmtpSasl = "the SMTP client does not authenticate to the next hop (relayhost must accept mail from this host)";
    private const string ListenersFromMasterCf = "Omoikane listens on the address and port of each master.cf service (inet_interfaces only for the built-in services without master.cf), over IPv4 or IPv6 as each address is";

    /// <summary>Name to what happens instead.</summary>
    public static readonly IReadOnlyDictionary<string, string> Reasons = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Where mail goes
        ["home_mailbox"] = Maildir,
        ["mailbox_command"] = Maildir + "; no command is run",
        ["mail_spool_directory"] = Maildir,
        ["local_transport"] = Maildir,
        ["virtual_transport"] = Maildir,
        ["virtual_mailbox_domains"] = "the local domains are $mydestination; " + Maildir,
        ["virtual_mailbox_maps"] = "the local users are those in user_database (omoikane user add) and the names in alias_maps",
        ["virtual_alias_maps"] = "aliases come from alias_maps (aliases(5) syntax) for the $mydestination domains",
        ["virtual_uid_maps"] = "mail files belong to the user the server runs as",
        ["virtual_gid_maps"] = "mail files belong to the user the server runs as",
        ["virtual_minimum_uid"] = "mail files belong to the user the server runs as",
        ["local_recipient_maps"] = "the local recipients are the users in user_database and the names in alias_maps; others are refused at RCPT (smtpd_reject_unlisted_recipient)",
        ["alias_database"] = "there is no indexed alias database to build (no newaliases): the alias_maps tables are read as they are",
        ["unknown_virtual_alias_reject_code"] = "no virtual_alias_maps; an unknown local recipient gets unknown_local_recipient_reject_code",
        ["unknown_relay_recipient_reject_code"] = "no relay_recipient_maps: every recipient in relay_domains is accepted and relayed",
        ["unverified_recipient_reject_code"] = "no address verification (reject_unverified_recipient is not a restriction Omoikane knows)",
        ["default_transport"] = "mail for other domains is always delivered by Omoikane's SMTP client: to relayhost if set, else to the MX hosts",
        ["qmgr_message_active_limit"] = "every queued message is scheduled; deliveries run at most 64 at a time and smtp_destination_concurrency_limit per destination",

        // Authentication
        ["smtpd_sasl_type"] = OwnSasl,
        ["smtpd_sasl_path"] = OwnSasl,
        ["cyrus_sasl_config_path"] = OwnSasl,
        ["smtp_sasl_auth_enable"] = NoSmtpSasl,
        ["smtp_sasl_password_maps"] = NoSmtpSasl,
        ["smtp_sasl_security_options"] = NoSmtpSasl,

        // Listening, processes, logging
        ["inet_protocols"] = ListenersFromMasterCf,
        ["default_process_limit"] = "a service's connection slots are its master.cf maxproc (100 for \"-\")",
        ["mail_owner"] = "the server runs as the user that starts it (the systemd unit's User=omoikane)",
        ["setgid_group"] = "no setgid helper: the omoikane command talks to the server through data_directory",
        ["syslog_facility"] = "the log is written to maillog_file, not to syslog",
        ["smtpd_tls_loglevel"] = "one line per TLS handshake (\"Anonymous TLS connection established from ...\"), as Postfix at level 1",
        ["smtp_tls_loglevel"] = "one line per outbound TLS handshake, as Postfix at level 1",
        ["smtpd_client_port_logging"] = "client ports are not logged",
        ["delay_logging_resolution_limit"] = "delays in the maillog have a fixed resolution",
        ["debug_peer_level"] = "no per-client debug logging",
        ["debugger_command"] = "no debugger is ever run; errors are written to the maillog",
        ["biff"] = "no biff/comsat notice of new mail",
        ["bounce_notice_recipient"] = NoNotices,
        ["notify_classes"] = NoNotices,

        // Postfix's installation
        ["readme_directory"] = OneProgram,
        ["html_directory"] = OneProgram,
        ["manpage_directory"] = OneProgram,
        ["sample_directory"] = OneProgram,
        ["command_directory"] = OneProgram,
        ["daemon_directory"] = OneProgram,
        ["meta_directory"] = OneProgram,
        ["shlib_directory"] = OneProgram,
        ["process_id_directory"] = OneProgram,
        ["sendmail_path"] = "Omoikane's commands are subcommands of the omoikane program",
        ["newaliases_path"] = "Omoikane's commands are subcommands of the omoikane program; alias_maps need no newaliases",
        ["mailq_path"] = "Omoikane's commands are subcommands of the omoikane program (omoikane queue list)",

        // TLS
        ["smtpd_tls_session_cache_database"] = NoTlsCache,
        ["smtpd_tls_session_cache_timeout"] = NoTlsCache,
        ["smtp_tls_session_cache_database"] = NoTlsCache,
        ["smtpd_tls_CApath"] = NoClientCertificates,
        ["smtpd_tls_CAfile"] = NoClientCertificates,
        ["smtp_tls_CApath"] = "outbound TLS is opportunistic: server certificates are not verified, so no CA list is used",
        ["smtp_tls_CAfile"] = "outbound TLS is opportunistic: server certificates are not verified, so no CA list is used",
        ["tls_random_source"] = "the operating system's random generator is used",
        ["smtpd_tls_mandatory_protocols"] = ServerProtocols,
        ["smtpd_tls_protocols"] = ServerProtocols,
        ["smtpd_tls_mandatory_ciphers"] = ServerProtocols,
        ["smtpd_tls_ciphers"] = ServerProtocols,
        ["smtpd_tls_exclude_ciphers"] = ServerProtocols,
        ["smtpd_tls_dh1024_param_file"] = ServerProtocols + "; ephemeral keys need no parameter file",
        ["tls_preempt_cipherlist"] = ServerProtocols,
        ["tls_high_cipherlist"] = ServerProtocols,
        ["tls_medium_cipherlist"] = ServerProtocols,
        ["smtp_tls_mandatory_protocols"] = ClientProtocols,
        ["smtp_tls_protocols"] = ClientProtocols,
        ["smtp_tls_exclude_ciphers"] = ClientProtocols,
        ["smtpd_tls_eccert_file"] = OneCertificate,
        ["smtpd_tls_eckey_file"] = OneCertificate,
        ["smtpd_tls_dcert_file"] = OneCertificate,
        ["smtpd_tls_dkey_file"] = OneCertificate,
        ["smtp_tls_note_starttls_offer"] = "offers of STARTTLS by next hops are not logged",
        ["smtp_use_tls"] = "outbound TLS follows smtp_tls_security_level",

        // Content and addresses
        ["header_checks"] = NoMilters,
        ["body_checks"] = NoMilters,
        ["milter_default_action"] = NoMilters,
        ["smtpd_milters"] = NoMilters,
        ["non_smtpd_milters"] = NoMilters,
        ["milter_protocol"] = NoMilters,
        ["disable_dns_lookups"] = Dns,
        ["smtp_host_lookup"] = Dns,
        ["lmtp_host_lookup"] = Dns,
        ["message_strip_characters"] = "message content is stored as received",
        ["propagate_unmatched_extensions"] = NoRewriting,
        ["strict_rfc821_envelopes"] = "MAIL FROM and RCPT TO are parsed with Postfix's default tolerance (strict_rfc821_envelopes = no)",
        ["swap_bangpath"] = NoRewriting,
        ["allow_percent_hack"] = NoRewriting,
        ["resolve_dequoted_address"] = NoRewriting,
        ["masquerade_domains"] = NoRewriting,
        ["canonical_maps"] = NoRewriting,
        ["sender_canonical_maps"] = NoRewriting,
        ["recipient_canonical_maps"] = NoRewriting,
        ["relocated_maps"] = NoRewriting,
        ["mynetworks_style"] = "mynetworks is used as written (its default, loopback only, is what mynetworks_style = host gives); list your networks in mynetworks",
        ["append_dot_mydomain"] = "addresses are never completed with .$mydomain (Postfix's default since compatibility level 1)",

        // smtpd
        ["smtpd_etrn_restrictions"] = "ETRN is not implemented (502 5.5.1)",
        ["smtpd_authorized_xclient_hosts"] = "no XCLIENT command: EHLO never offers it",
        ["smtpd_per_record_deadline"] = "the deadline is always per record: smtpd_timeout starts again with every line read, as Postfix with yes",
        ["smtpd_recipient_overshoot_limit"] = "every recipient past smtpd_recipient_limit gets 452 4.5.3 and is not counted as an error",
        ["smtpd_client_message_rate_limit"] = "no per-client message rate; smtpd_client_connection_rate_limit and smtpd_client_connection_count_limit limit a client",
        ["smtpd_client_recipient_rate_limit"] = "no per-client recipient rate; smtpd_recipient_limit bounds the recipients of one message",
        ["unknown_helo_hostname_tls_reject_code"] = "unknown_hostname_reject_code applies with and without TLS",
        ["reject_tempfail_action"] = "reject_unknown_client_hostname and the other reject_* restrictions without their own *_tempfail_action answer 450 at once when a lookup fails temporarily (as with defer)",
        ["queue_minfree"] = "no free-space threshold: when the disk is full the client gets 452 4.3.1 and no mail is lost",
    };

    public static bool TryGetReason(string name, out string reason) => Reasons.TryGetValue(name, out reason!);
}
