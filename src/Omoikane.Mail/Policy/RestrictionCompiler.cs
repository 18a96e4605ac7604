using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>
/// Turns a restriction list as written in main.cf into a RestrictionList. Restrictions that take an
/// argument consume the next token ("check_client_access cidr:/x", "reject_rbl_client zone=127.0.0.2",
/// "sleep 1"). Problems become diagnostics naming the parameter; the faulty entry compiles to a
/// ConfigurationError entry so that evaluation answers "451 4.3.5 Server configuration error" as Postfix does.
/// </summary>
public sealed class RestrictionCompiler
{
    private static readonly Dictionary<string, RestrictionKind> Simple = new(StringComparer.OrdinalIgnoreCase)
    {
        ["permit"] = RestrictionKind.Permit,
        ["reject"] = RestrictionKind.Reject,
        ["defer"] = RestrictionKind.Defer,
        ["defer_if_permit"] = RestrictionKind.DeferIfPermit,
        ["defer_if_reject"] = RestrictionKind.DeferIfReject,
        ["warn_if_reject"] = RestrictionKind.WarnIfReject,
        ["reject_unauth_pipelining"] = RestrictionKind.RejectUnauthPipelining,
        ["reject_plaintext_session"] = RestrictionKind.RejectPlaintextSession,
        ["permit_mynetworks"] = RestrictionKind.PermitMynetworks,
        ["permit_sasl_authenticated"] = RestrictionKind.PermitSaslAuthenticated,
        ["permit_pop_before_smtp"] = RestrictionKind.PermitPopBeforeSmtp,
        ["reject_unknown_client_hostname"] = RestrictionKind.RejectUnknownClientHostname,
        ["reject_unknown_client"] = RestrictionKind.RejectUnknownClientHostname,
        ["reject_unknown_reverse_client_hostname"] = RestrictionKind.RejectUnknownReverseClientHostname,
        ["reject_invalid_helo_hostname"] = RestrictionKind.RejectInvalidHeloHostname,
        ["reject_invalid_hostname"] = RestrictionKind.RejectInvalidHeloHostname,
        ["reject_non_fqdn_helo_hostname"] = RestrictionKind.RejectNonFqdnHeloHostname,
        ["reject_non_fqdn_hostname"] = RestrictionKind.RejectNonFqdnHeloHostname,
        ["reject_unknown_helo_hostname"] = RestrictionKind.RejectUnknownHeloHostname,
        ["reject_unknown_hostname"] = RestrictionKind.RejectUnknownHeloHostname,
        ["reject_non_fqdn_sender"] = RestrictionKind.RejectNonFqdnSender,
        ["reject_unknown_sender_domain"] = RestrictionKind.RejectUnknownSenderDomain,
        ["reject_unlisted_sender"] = RestrictionKind.RejectUnlistedSender,
        ["reject_sender_login_mismatch"] = RestrictionKind.RejectSenderLoginMismatch,
        ["reject_authenticated_sender_login_mismatch"] = RestrictionKind.RejectAuthenticatedSenderLoginMismatch,
        ["reject_known_sender_login_mismatch"] = RestrictionKind.RejectKnownSenderLoginMismatch,
        ["reject_unauthenticated_sender_login_mismatch"] = RestrictionKind.RejectUnauthenticatedSenderLoginMismatch,
        ["reject_non_fqdn_recipient"] = RestrictionKind.RejectNonFqdnRecipient,
        ["reject_unknown_recipient_domain"] = RestrictionKind.RejectUnknownRecipientDomain,
        ["reject_unlisted_recipient"] = RestrictionKind.RejectUnlistedRecipient,
        ["check_recipient_maps"] = RestrictionKind.RejectUnlistedRecipient,
        ["permit_auth_destination"] = RestrictionKind.PermitAuthDestination,
        ["reject_unauth_destination"] = RestrictionKind.RejectUnauthDestination,
        ["defer_unauth_destination"] = RestrictionKind.DeferUnauthDestination,
        ["reject_multi_recipient_bounce"] = RestrictionKind.RejectMultiRecipientBounce,
    };

    private static readonly Dictionary<string, RestrictionKind> WithTable = new(StringComparer.OrdinalIgnoreCase)
    {
        ["check_client_access"] = RestrictionKind.CheckClientAccess,
        ["check_reverse_client_hostname_access"] = RestrictionKind.CheckReverseClientHostnameAccess,
        ["check_helo_access"] = RestrictionKind.CheckHeloAccess,
        ["check_sender_access"] = RestrictionKind.CheckSenderAccess,
        ["check_recipient_access"] = RestrictionKind.CheckRecipientAccess,
    };

    private static readonly Dictionary<string, RestrictionKind> WithDomain = new(StringComparer.OrdinalIgnoreCase)
    {
        ["reject_rbl_client"] = RestrictionKind.RejectRblClient,
        ["reject_rbl"] = RestrictionKind.RejectRblClient,
        ["reject_rhsbl_client"] = RestrictionKind.RejectRhsblClient,
        ["reject_rhsbl_reverse_client"] = RestrictionKind.RejectRhsblReverseClient,
        ["reject_rhsbl_helo"] = RestrictionKind.RejectRhsblHelo,
        ["reject_rhsbl_sender"] = RestrictionKind.RejectRhsblSender,
        ["reject_rhsbl_recipient"] = RestrictionKind.RejectRhsblRecipient,
    };

    /// <summary>Names Postfix 2.3 renamed and still accepts (postconf(5)): old name, current name. Omoikane accepts both.</summary>
    public static readonly IReadOnlyDictionary<string, string> RenamedNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["reject_unknown_client"] = "reject_unknown_client_hostname",
        ["reject_invalid_hostname"] = "reject_invalid_helo_hostname",
        ["reject_non_fqdn_hostname"] = "reject_non_fqdn_helo_hostname",
        ["reject_unknown_hostname"] = "reject_unknown_helo_hostname",
        ["check_recipient_maps"] = "reject_unlisted_recipient",
    };

    /// <summary>
    /// Names removed from Postfix (DEPRECATION_README; removed in 3.9 after warnings since 2.x/3.0): old name, what
    /// to write instead. A list using one is a configuration error, as in Postfix, whose message names the replacement.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> RemovedNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["check_relay_domains"] = "reject_unauth_destination",
        ["permit_naked_ip_address"] = "permit_mynetworks or permit_sasl_authenticated",
        ["reject_maps_rbl"] = "reject_rbl_client domain-name",
    };

    private readonly TableFactory _tables;
    private readonly IReadOnlySet<string> _classNames;

    public RestrictionCompiler(TableFactory tables, IReadOnlySet<string>? classNames = null)
    {
        _tables = tables;
        _classNames = classNames ?? new HashSet<string>();
    }

    /// <summary>True for the names that take no argument, the table and the domain restrictions.</summary>
    public static bool IsKnownName(string name) => Simple.ContainsKey(name) || WithTable.ContainsKey(name) || WithDomain.ContainsKey(name)
        || name.Equals("sleep", StringComparison.OrdinalIgnoreCase);

    public RestrictionList Compile(string parameterName, string value, ConfigDiagnostics diagnostics, string file = "main.cf", int line = 0)
        => Compile(parameterName, Parameters.SplitList(value), diagnostics, file, line);

    public RestrictionList Compile(string parameterName, IReadOnlyList<string> tokens, ConfigDiagnostics diagnostics, string file = "main.cf", int line = 0)
    {
        var items = new List<Restriction>();
        for (int i = 0; i < tokens.Count; i++)
        {
            var name = tokens[i];
            string? next = i + 1 < tokens.Count ? tokens[i + 1] : null;
            if (Simple.TryGetValue(name, out var kind))
            {
                items.Add(new Restriction(kind, name));
            }
            else if (WithTable.TryGetValue(name, out kind))
            {
                if (next is null || !TableFactory.LooksLikeTable(next))
                {
                    diagnostics.Error(file, line, $"{parameterName}: restriction \"{name}\" needs a lookup table argument (type:name), e.g. {name} hash:/etc/postfix/access");
                    items.Add(new Restriction(RestrictionKind.ConfigurationError, name));
                    continue;
                }
                i++;
                var table = _tables.Create(next, diagnostics, file, line);
                items.Add(table is null ? new Restriction(RestrictionKind.ConfigurationError, name, next) : new Restriction(kind, name, next, table));
            }
            else if (WithDomain.TryGetValue(name, out kind))
            {
                if (next is null || IsKnownName(next) || _classNames.Contains(next))
                {
                    diagnostics.Error(file, line, $"{parameterName}: restriction \"{name}\" needs a DNS list domain, e.g. {name} zen.spamhaus.org");
                    items.Add(new Restriction(RestrictionKind.ConfigurationError, name));
                    continue;
                }
                i++;
                RblReplyFilter? filter = null;
                var eq = next.IndexOf('=');
                if (eq >= 0 && !RblReplyFilter.TryParse(next[(eq + 1)..], out filter, out var error))
                {
                    diagnostics.Error(file, line, $"{parameterName}: {name} {next}: {error}");
                    items.Add(new Restriction(RestrictionKind.ConfigurationError, name, next));
                    continue;
                }
                items.Add(new Restriction(kind, name, next, ReplyFilter: filter));
            }
            else if (name.Equals("sleep", StringComparison.OrdinalIgnoreCase))
            {
                if (next is null || !next.All(char.IsAsciiDigit))
                {
                    diagnostics.Error(file, line, $"{parameterName}: restriction \"sleep\" must be followed by a number of seconds");
                    items.Add(new Restriction(RestrictionKind.ConfigurationError, name));
                    continue;
                }
                i++;
                items.Add(new Restriction(RestrictionKind.Sleep, name, next));
            }
            else if (TableFactory.LooksLikeTable(name))
            {
                var table = _tables.Create(name, diagnostics, file, line);
                items.Add(table is null ? new Restriction(RestrictionKind.ConfigurationError, name) : new Restriction(RestrictionKind.ImplicitAccess, name, name, table));
            }
            else if (RemovedNames.TryGetValue(name, out var replacement))
            {
                diagnostics.Error(file, line, $"{parameterName}: support for restriction \"{name}\" has been removed from Postfix: instead, specify \"{replacement}\"");
                items.Add(new Restriction(RestrictionKind.ConfigurationError, name));
            }
            else if (_classNames.Contains(name))
            {
                items.Add(new Restriction(RestrictionKind.RestrictionClass, name, name));
            }
            else
            {
                diagnostics.Error(file, line, $"{parameterName}: unknown smtpd restriction \"{name}\": check the spelling, or define it in smtpd_restriction_classes");
                items.Add(new Restriction(RestrictionKind.ConfigurationError, name));
            }
        }
        return new RestrictionList(parameterName, items);
    }
}
