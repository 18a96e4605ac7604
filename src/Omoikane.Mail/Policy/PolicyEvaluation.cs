using Omoikane.Mail.Policy.Tables;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Policy;

/// <summary>
/// One run of the restriction machinery for one command (smtpd_check.c generic_checks and its
/// state: warn_if_reject, defer_if_permit, defer_if_reject). Restrictions answer Permit, Reject or
/// Dunno; the first non-Dunno ends a list. Rejections are formatted as Postfix formats them.
/// </summary>
internal sealed partial class PolicyEvaluation
{
    internal enum Status { Dunno, Permit, Reject }

    private enum ErrorClass { Policy, Protocol, Bounce, Data, Software }

    private const int MaxRecursion = 100;

    private readonly SmtpdPolicy _policy;
    private readonly PolicyContext _ctx;
    private readonly IList<PolicyTraceEntry>? _trace;
    private readonly CancellationToken _ct;
    private int _recursion;
    private int _warnIfReject;
    private SmtpReply? _deferIfReject;

    public PolicyEvaluation(SmtpdPolicy policy, PolicyContext context, IList<PolicyTraceEntry>? trace, CancellationToken ct)
    {
        _policy = policy;
        _ctx = context;
        _trace = trace;
        _ct = ct;
    }

    public PolicyContext Context => _ctx;
    public string Stage { get; set; } = "";
    public List<PolicyLogEntry> Log { get; } = new();
    public SmtpReply? DeferIfPermit { get; set; }
    public SmtpReply? LastReply { get; private set; }
    public bool RecipientRcptMapChecked { get; set; }
    public bool SenderRcptMapChecked { get; set; }

    /// <summary>SMTPD_CHECK_RESET.</summary>
    public void Reset()
    {
        _recursion = 0;
        _warnIfReject = 0;
        _deferIfReject = null;
    }

    private void Trace(string restriction, string verdict, string? detail = null)
        => _trace?.Add(new PolicyTraceEntry(Stage, _recursion, restriction, verdict, detail));

    /// <summary>smtpd_check_reject: formats, honours warn_if_reject and defer_if_reject, logs.</summary>
    private Status Reject(ErrorClass errorClass, int code, string dsn, string text)
    {
        bool warn = _warnIfReject != 0 && errorClass is not (ErrorClass.Software or ErrorClass.Data);
        SmtpReply reply;
        if (code < 400 || code > 599 || !SmtpReply.IsEnhanced(dsn))
            reply = new SmtpReply(450, "4.7.1", "Service unavailable");
        else
            reply = new SmtpReply(code, dsn, text);

        // An earlier temporary problem may have prevented us from accepting: report it instead of a 5xx.
        if (!warn && _deferIfReject is { } deferred && reply.Code >= 500)
        {
            _warnIfReject = 0;
            _deferIfReject = null;
            return Reject(ErrorClass.Policy, deferred.Code, deferred.Enhanced!, deferred.Text);
        }
        // SMTP code and enhanced code must agree in class (the SMTP code wins).
        var enhanced = reply.Enhanced!;
        if (enhanced[0] != (char)('0' + reply.Code / 100))
            reply = reply with { Enhanced = (char)('0' + reply.Code / 100) + enhanced[1..] };
        if (warn)
        {
            Log.Add(new PolicyLogEntry("reject_warning", reply.ToString()));
            Trace("warn_if_reject", "reject_warning", reply.ToString());
            return Status.Dunno;
        }
        LastReply = reply;
        return Status.Reject;
    }

    /// <summary>Turns a pending deferral into the answer (the end of smtpd_check_rcpt/_data/_eod).</summary>
    public Status ForceReject(SmtpReply deferred)
    {
        _warnIfReject = 0;
        _deferIfReject = null;
        return Reject(ErrorClass.Policy, deferred.Code, deferred.Enhanced ?? "4.7.1", deferred.Text);
    }

    public ValueTask<Status> CheckSenderRcptMapsPublicAsync(Addressing.MailAddress sender) => CheckSenderRcptMapsAsync(sender);

    private Status DeferIfPermitNow(int code, string dsn, string text)
    {
        DeferIfPermit ??= new SmtpReply(code, dsn, text);
        return Status.Dunno;
    }

    private Status DeferIfRejectNow(int code, string dsn, string text)
    {
        _deferIfReject ??= new SmtpReply(code, dsn, text);
        return Status.Dunno;
    }

    /// <summary>DEFER_IF_PERMIT2 with a *_tempfail_action: "defer" defers now, else defer_if_permit.</summary>
    private Status TempFailAction(string action, int code, string dsn, string text)
        => action.Trim().Equals("defer", StringComparison.OrdinalIgnoreCase)
            ? Reject(ErrorClass.Policy, code, dsn, text)
            : action.Trim().Equals("defer_if_reject", StringComparison.OrdinalIgnoreCase)
                ? DeferIfRejectNow(code, dsn, text)
                : DeferIfPermitNow(code, dsn, text);

    /// <summary>reject_dict_retry: a table could not answer now.</summary>
    private Status DictRetry(string replyName)
        => Reject(ErrorClass.Data, 451, "4.3.0", $"<{replyName}>: Temporary lookup failure");

    /// <summary>reject_server_error.</summary>
    private Status ServerError(string why)
    {
        Log.Add(new PolicyLogEntry("warning", why));
        return Reject(ErrorClass.Software, 451, "4.3.5", "Server configuration error");
    }

    /// <summary>smtpd_dsn_fix: address-specific enhanced codes follow what is being rejected.</summary>
    internal static string FixDsn(string dsn, string replyClass)
    {
        if (dsn.Length < 5 || !char.IsAsciiDigit(dsn[0]) || dsn.AsSpan(1, 3) is not ".1.") return dsn;
        var micro = dsn[4..];
        var c = dsn[0];
        if (replyClass == ReplyClass.Sender)
            return c + micro switch
            {
                "1" or "4" or "6" or "8" or "2" => ".1.8",
                "3" or "7" => ".1.7",
                "5" => ".1.0",
                _ => ".1.0",
            };
        if (replyClass == ReplyClass.Recipient)
            return c + micro switch
            {
                "1" => ".1.1", "2" or "8" => ".1.2", "3" or "7" => ".1.3", "4" => ".1.4", "5" => ".1.5", "6" => ".1.6",
                _ => ".1.0",
            };
        return c + ".0.0";
    }

    public async ValueTask<Status> GenericChecksAsync(RestrictionList list, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        var status = Status.Dunno;
        int savedRecursion = _recursion++;
        var items = list.Items;
        for (int i = 0; i < items.Count; i++)
        {
            _ct.ThrowIfCancellationRequested();
            var r = items[i];
            if (r.Kind == RestrictionKind.WarnIfReject)
            {
                if (_warnIfReject == 0) _warnIfReject = _recursion;
                Trace(r.ToString(), "next restriction only warns");
                continue;
            }
            status = await EvaluateAsync(r, replyName, replyClass, defaultAccess).ConfigureAwait(false);
            Trace(r.ToString(), status switch
            {
                Status.Permit => "permit",
                Status.Reject => "reject " + LastReply,
                _ => "dunno",
            });
            if (_warnIfReject >= _recursion) _warnIfReject = 0;
            if (status != Status.Dunno) break;
            if (DeferIfPermit is not null && _deferIfReject is not null) break;
        }
        _recursion = savedRecursion;
        if (_warnIfReject >= _recursion) _warnIfReject = 0;
        return status;
    }

    private async ValueTask<Status> EvaluateAsync(Restriction r, string replyName, string replyClass, RestrictionKind? defaultAccess)
    {
        var p = _policy.Parameters;
        var ctx = _ctx;
        switch (r.Kind)
        {
            case RestrictionKind.Permit:
                return Status.Permit;
            case RestrictionKind.Reject:
                return Reject(ErrorClass.Policy, p.GetInt("reject_code"), "5.7.1", $"<{replyName}>: {replyClass} rejected: Access denied");
            case RestrictionKind.Defer:
                return Reject(ErrorClass.Policy, p.GetInt("defer_code"), "4.3.2", $"<{replyName}>: {replyClass} rejected: Try again later");
            case RestrictionKind.DeferIfPermit:
                return DeferIfPermitNow(450, "4.7.0", $"<{replyName}>: {replyClass} rejected: defer_if_permit requested");
            case RestrictionKind.DeferIfReject:
                return DeferIfRejectNow(450, "4.7.0", $"<{replyName}>: {replyClass} rejected: defer_if_reject requested");
            case RestrictionKind.RejectUnauthPipelining:
                return ctx.IllegalPipelining
                    ? Reject(ErrorClass.Protocol, 503, "5.5.0", $"<{replyName}>: {replyClass} rejected: Improper use of SMTP command pipelining")
                    : Status.Dunno;
            case RestrictionKind.RejectPlaintextSession:
                return ctx.Tls ? Status.Dunno : Reject(ErrorClass.Policy, p.GetInt("plaintext_reject_code"), "4.7.1", "Session encryption is required");
            case RestrictionKind.Sleep:
                return Status.Dunno; // Omoikane does not stall sessions for policy.
            case RestrictionKind.ConfigurationError:
                return ServerError($"restriction \"{r}\" is unknown or malformed (see omoikane check)");

            // Client
            case RestrictionKind.PermitMynetworks:
            {
                var s = await _policy.MyNetworks.MatchAsync(ctx.ClientAddress, _ct).ConfigureAwait(false);
                return s switch { LookupStatus.Found => Status.Permit, LookupStatus.TempFail => DictRetry(replyName), _ => Status.Dunno };
            }
            case RestrictionKind.PermitSaslAuthenticated:
                return string.IsNullOrEmpty(ctx.SaslUsername) ? Status.Dunno : Status.Permit;
            case RestrictionKind.PermitPopBeforeSmtp:
                return _policy.Options.PopBeforeSmtp is { } reg && reg.IsAuthorized(ctx.ClientAddress, _policy.Options.TimeProvider.GetUtcNow())
                    ? Status.Permit : Status.Dunno;
            case RestrictionKind.CheckClientAccess:
                return await CheckNamAddrAccessAsync(r.Table!, ctx.ClientName, ctx.ClientAddressText, ctx.NamAddr, ReplyClass.Client, defaultAccess).ConfigureAwait(false);
            case RestrictionKind.CheckReverseClientHostnameAccess:
            {
                var s = await CheckNamAddrAccessAsync(r.Table!, ctx.ReverseClientName, ctx.ClientAddressText, ctx.ReverseClientName, ReplyClass.ReverseClient, defaultAccess).ConfigureAwait(false);
                return s == Status.Permit ? ForbidAllowlist(r, ctx.ReverseClientName) : s;
            }
            case RestrictionKind.RejectUnknownClientHostname:
                if (ctx.ClientNameStatus == PeerNameStatus.Ok) return Status.Dunno;
                return Reject(ErrorClass.Policy, ctx.ClientNameStatus >= PeerNameStatus.Perm ? p.GetInt("unknown_client_reject_code") : 450, "4.7.25",
                    $"Client host rejected: cannot find your hostname, [{ctx.ClientAddressText}]");
            case RestrictionKind.RejectUnknownReverseClientHostname:
                if (ctx.ReverseClientNameStatus == PeerNameStatus.Ok) return Status.Dunno;
                return Reject(ErrorClass.Policy, ctx.ReverseClientNameStatus == PeerNameStatus.Perm ? p.GetInt("unknown_client_reject_code") : 450, "4.7.1",
                    $"Client host rejected: cannot find your reverse hostname, [{ctx.ClientAddressText}]");
            case RestrictionKind.RejectRblClient:
                return await RejectRblAddressAsync(r, ctx.ClientAddressText).ConfigureAwait(false);
            case RestrictionKind.RejectRhsblClient:
                return ctx.ClientName.Equals(ClientIdentity.Unknown, StringComparison.OrdinalIgnoreCase) ? Status.Dunno
                    : await RejectRblDomainAsync(r, ctx.ClientName, ReplyClass.Client).ConfigureAwait(false);
            case RestrictionKind.RejectRhsblReverseClient:
                return ctx.ReverseClientName.Equals(ClientIdentity.Unknown, StringComparison.OrdinalIgnoreCase) ? Status.Dunno
                    : await RejectRblDomainAsync(r, ctx.ReverseClientName, ReplyClass.ReverseClient).ConfigureAwait(false);

            // HELO
            case RestrictionKind.CheckHeloAccess:
                return ctx.HeloName is null ? Status.Dunno
                    : (await CheckDomainAccessAsync(r.Table!, ctx.HeloName, ctx.HeloName, ReplyClass.Helo, defaultAccess).ConfigureAwait(false)).Status;
            case RestrictionKind.RejectInvalidHeloHostname:
                if (ctx.HeloName is not { } helo) return Status.Dunno;
                if (helo.StartsWith('[')) return RejectInvalidHostAddress(helo);
                {
                    var t = HostnameSyntax.TruncateDot(helo);
                    return HostnameSyntax.IsValidHostname(t) || HostnameSyntax.IsValidHostAddress(t) ? Status.Dunno
                        : Reject(ErrorClass.Policy, p.GetInt("invalid_hostname_reject_code"), "5.5.2", $"<{helo}>: {ReplyClass.Helo} rejected: Invalid name");
                }
            case RestrictionKind.RejectNonFqdnHeloHostname:
                if (ctx.HeloName is not { } helo2) return Status.Dunno;
                if (helo2.StartsWith('[')) return RejectInvalidHostAddress(helo2);
                {
                    var t = HostnameSyntax.TruncateDot(helo2);
                    return HostnameSyntax.IsValidHostname(t) && t.Contains('.') ? Status.Dunno
                        : Reject(ErrorClass.Policy, p.GetInt("non_fqdn_reject_code"), "5.5.2", $"<{helo2}>: {ReplyClass.Helo} rejected: need fully-qualified hostname");
                }
            case RestrictionKind.RejectUnknownHeloHostname:
                if (ctx.HeloName is not { } helo3) return Status.Dunno;
                return helo3.StartsWith('[') ? RejectInvalidHostAddress(helo3) : await RejectUnknownHostnameAsync(helo3).ConfigureAwait(false);
            case RestrictionKind.RejectRhsblHelo:
                return ctx.HeloName is null ? Status.Dunno : await RejectRblDomainAsync(r, ctx.HeloName, ReplyClass.Helo).ConfigureAwait(false);

            // Sender
            case RestrictionKind.CheckSenderAccess:
                if (ctx.Sender is not { } sender) return Status.Dunno;
                if (sender.IsNull)
                    return (await CheckAccessAsync(r.Table!, NullAccessKey, "", ReplyClass.Sender, defaultAccess).ConfigureAwait(false)).Status;
                return await CheckMailAccessAsync(r.Table!, sender, ReplyClass.Sender, defaultAccess).ConfigureAwait(false);
            case RestrictionKind.RejectNonFqdnSender:
                return ctx.Sender is { IsNull: false } s1 ? RejectNonFqdnAddress(s1, ReplyClass.Sender) : Status.Dunno;
            case RestrictionKind.RejectUnknownSenderDomain:
                return ctx.Sender is { IsNull: false } s2 ? await RejectUnknownAddressAsync(s2, ReplyClass.Sender).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.RejectUnlistedSender:
                return ctx.Sender is { IsNull: false } s3 ? await CheckSenderRcptMapsAsync(s3).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.RejectSenderLoginMismatch:
                return await CheckSenderLoginAsync(authenticated: true, knownOnly: false, unauthenticated: true).ConfigureAwait(false);
            case RestrictionKind.RejectAuthenticatedSenderLoginMismatch:
                return await CheckSenderLoginAsync(authenticated: true, knownOnly: false, unauthenticated: false).ConfigureAwait(false);
            case RestrictionKind.RejectKnownSenderLoginMismatch:
                return await CheckSenderLoginAsync(authenticated: true, knownOnly: true, unauthenticated: true).ConfigureAwait(false);
            case RestrictionKind.RejectUnauthenticatedSenderLoginMismatch:
                return await CheckSenderLoginAsync(authenticated: false, knownOnly: false, unauthenticated: true).ConfigureAwait(false);
            case RestrictionKind.RejectRhsblSender:
                return ctx.Sender is { IsNull: false } s4 ? await RejectRblDomainAsync(r, s4.ToString(), ReplyClass.Sender).ConfigureAwait(false) : Status.Dunno;

            // Recipient
            case RestrictionKind.CheckRecipientAccess:
                return ctx.Recipient is { } rc ? await CheckMailAccessAsync(r.Table!, rc, ReplyClass.Recipient, defaultAccess).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.RejectNonFqdnRecipient:
                return ctx.Recipient is { } rc1 ? RejectNonFqdnAddress(rc1, ReplyClass.Recipient) : Status.Dunno;
            case RestrictionKind.RejectUnknownRecipientDomain:
                return ctx.Recipient is { } rc2 ? await RejectUnknownAddressAsync(rc2, ReplyClass.Recipient).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.RejectUnlistedRecipient:
                return ctx.Recipient is { } rc3 ? await CheckRecipientRcptMapsAsync(rc3).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.RejectRhsblRecipient:
                return ctx.Recipient is { } rc4 ? await RejectRblDomainAsync(r, rc4.ToString(), ReplyClass.Recipient).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.PermitAuthDestination:
                return ctx.Recipient is { } rc5 ? await PermitAuthDestinationAsync(rc5).ConfigureAwait(false) : Status.Dunno;
            case RestrictionKind.RejectUnauthDestination:
            case RestrictionKind.DeferUnauthDestination:
            {
                if (ctx.Recipient is not { } rc6) return Status.Dunno;
                var auth = await PermitAuthDestinationAsync(rc6).ConfigureAwait(false);
                if (auth == Status.Permit) return Status.Dunno;
                if (auth == Status.Reject) return auth;
                int code = p.GetInt("relay_domains_reject_code");
                return r.Kind == RestrictionKind.RejectUnauthDestination
                    ? Reject(ErrorClass.Policy, code, "5.7.1", $"<{rc6}>: Relay access denied")
                    : Reject(ErrorClass.Policy, code - 100, "4.7.1", $"<{rc6}>: Relay access denied");
            }
            case RestrictionKind.RejectMultiRecipientBounce:
                return ctx.Sender is { IsNull: true } && ctx.RecipientCount > (Stage.EndsWith("recipient_restrictions", StringComparison.Ordinal) ? 0 : 1)
                    ? Reject(ErrorClass.Policy, 550, "5.5.3", $"<{replyName}>: {replyClass} rejected: Multi-recipient bounce")
                    : Status.Dunno;

            case RestrictionKind.ImplicitAccess:
                if (defaultAccess is null)
                    return ServerError($"specify one of (check_client_access, check_reverse_client_hostname_access, check_helo_access, check_sender_access, check_recipient_access) before {replyClass} restriction \"{r.Name}\"");
                return await EvaluateAsync(r with { Kind = defaultAccess.Value }, replyName, replyClass, defaultAccess).ConfigureAwait(false);
            case RestrictionKind.RestrictionClass:
                if (!_policy.Classes.TryGetValue(r.Name, out var cls))
                    return ServerError($"unknown restriction class \"{r.Name}\"");
                if (_recursion > MaxRecursion)
                    return ServerError($"restriction class \"{r.Name}\" causes unreasonable recursion");
                return await GenericChecksAsync(cls, replyName, replyClass, defaultAccess).ConfigureAwait(false);
            default:
                return ServerError($"restriction \"{r}\" is not implemented");
        }
    }

    /// <summary>forbid_allowlist: name-based checks on unverified data may not say OK.</summary>
    private Status ForbidAllowlist(Restriction r, string target)
        => ServerError($"restriction {r.Name} returns OK for {target}: this is not allowed for security reasons; use DUNNO instead of OK if you want to make an exception");

    private Status RejectInvalidHostAddress(string literal)
    {
        var inner = literal.Length > 2 && literal[0] == '[' && literal[^1] == ']' ? literal[1..^1] : literal;
        return HostnameSyntax.IsValidHostAddress(inner) ? Status.Dunno
            : Reject(ErrorClass.Policy, _policy.Parameters.GetInt("invalid_hostname_reject_code"), "5.5.2", $"<{literal}>: {ReplyClass.Helo} rejected: invalid ip address");
    }

    private Status RejectNonFqdnAddress(Addressing.MailAddress address, string replyClass)
    {
        var domain = address.Domain;
        if (domain.StartsWith('[') && domain.EndsWith(']')) return Status.Dunno;
        var t = HostnameSyntax.TruncateDot(domain);
        if (t.Length > 0 && HostnameSyntax.IsValidHostname(t) && t.Contains('.')) return Status.Dunno;
        return Reject(ErrorClass.Policy, _policy.Parameters.GetInt("non_fqdn_reject_code"), "4.5.2",
            $"<{address}>: {replyClass} rejected: need fully-qualified address");
    }
}
