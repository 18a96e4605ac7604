using System.Collections.Concurrent;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>
/// The access policy of one smtpd service (one Parameters snapshot): the restriction lists of every
/// stage, evaluated with Postfix's semantics (smtpd_check.c). Call the Check* method of each SMTP
/// stage; with smtpd_delay_reject = yes (default) the client, HELO and sender restrictions run at
/// RCPT time, in that order, before the relay and recipient restrictions.
/// </summary>
public sealed class SmtpdPolicy
{
    public const string RelayRequirementMessage =
        "the smtpd_relay_restrictions and smtpd_recipient_restrictions parameters both specify a list with no restrictions that reject unauthorized relaying: "
        + "add reject_unauth_destination (or defer_unauth_destination, reject, defer, defer_if_permit) to one of them";

    private readonly ConcurrentDictionary<string, RestrictionList> _tableResults = new(StringComparer.Ordinal);
    private readonly RestrictionCompiler _compiler;

    private SmtpdPolicy(PolicyOptions options, ConfigDiagnostics diagnostics)
    {
        Options = options;
        var p = options.Parameters;
        Parameters = p;
        AccessParentStyle = ParentMatching.Matches(p, "smtpd_access_maps");
        Domains = new DomainClassifier(p, options.Tables, diagnostics, options.LocalAddresses);
        MyNetworks = new NetworkList(p.GetList("mynetworks"), options.Tables, diagnostics, "mynetworks",
            p.Source("mynetworks")?.File ?? "main.cf", p.Source("mynetworks")?.Line ?? 0);
        BareNewlineExclusions = new NetworkList(p.GetList("smtpd_forbid_bare_newline_exclusions"), options.Tables, diagnostics,
            "smtpd_forbid_bare_newline_exclusions", p.Source("smtpd_forbid_bare_newline_exclusions")?.File ?? p.Source("mynetworks")?.File ?? "main.cf",
            p.Source("smtpd_forbid_bare_newline_exclusions")?.Line ?? p.Source("mynetworks")?.Line ?? 0);

        var classNames = new HashSet<string>(p.GetList("smtpd_restriction_classes"), StringComparer.OrdinalIgnoreCase);
        _compiler = new RestrictionCompiler(options.Tables, classNames);
        var classes = new Dictionary<string, RestrictionList>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in classNames)
        {
            if (RestrictionCompiler.IsKnownName(name))
            {
                diagnostics.Error(Where(p, "smtpd_restriction_classes").File, Where(p, "smtpd_restriction_classes").Line,
                    $"smtpd_restriction_classes: \"{name}\" is a built-in restriction name: choose another class name");
                continue;
            }
            if (p.GetRaw(name) is null)
                diagnostics.Error(Where(p, "smtpd_restriction_classes").File, Where(p, "smtpd_restriction_classes").Line,
                    $"restriction class \"{name}\" is listed in smtpd_restriction_classes but not defined: add \"{name} = restrictions...\" to main.cf");
            classes[name] = Compile(p, name, diagnostics);
        }
        Classes = classes;
        var (loginFile, loginLine) = Where(p, "smtpd_sender_login_maps");
        SenderLoginMaps = p.GetList("smtpd_sender_login_maps").Select(spec => options.Tables.Create(spec, diagnostics, loginFile, loginLine))
            .OfType<ILookupTable>().ToList();

        ClientRestrictions = Compile(p, "smtpd_client_restrictions", diagnostics);
        HeloRestrictions = Compile(p, "smtpd_helo_restrictions", diagnostics);
        SenderRestrictions = Compile(p, "smtpd_sender_restrictions", diagnostics);
        RecipientRestrictions = Compile(p, "smtpd_recipient_restrictions", diagnostics);
        CompatibleRelayRestrictions = UsesBackwardsCompatibleRelayRestrictions(p);
        RelayRestrictions = CompatibleRelayRestrictions
            ? new RestrictionList("smtpd_relay_restrictions", [])
            : Compile(p, "smtpd_relay_restrictions", diagnostics);
        _fakeRelayRestrictions = CompatibleRelayRestrictions
            ? _compiler.Compile("smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, permit_auth_destination", diagnostics)
            : null;
        // trivial-rewrite's view of transport_maps: recipients routed to error: or retry: are refused at RCPT.
        var transportMaps = p.GetList("transport_maps")
            .Select(spec => options.Tables.Create(spec, new ConfigDiagnostics())).OfType<ILookupTable>().ToList();
        Transports = transportMaps.Count == 0 ? null : new Delivery.Smtp.NextHopResolver(transportMaps, "", 25);
        DataRestrictions = Compile(p, "smtpd_data_restrictions", diagnostics);
        EndOfDataRestrictions = Compile(p, "smtpd_end_of_data_restrictions", diagnostics);
        DelayReject = p.GetBool("smtpd_delay_reject");
        RelayBeforeRecipient = !p.IsExplicit("smtpd_relay_before_recipient_restrictions") || p.GetBool("smtpd_relay_before_recipient_restrictions");

        // smtpd_check.c: a login mismatch restriction without smtpd_sender_login_maps is ignored, with a warning.
        if (SenderLoginMaps.Count == 0)
            foreach (var list in new[] { ClientRestrictions, HeloRestrictions, SenderRestrictions, RelayRestrictions, RecipientRestrictions }.Concat(classes.Values))
                foreach (var r in list.Items.Where(r => r.Kind is RestrictionKind.RejectSenderLoginMismatch or RestrictionKind.RejectAuthenticatedSenderLoginMismatch
                             or RestrictionKind.RejectKnownSenderLoginMismatch or RestrictionKind.RejectUnauthenticatedSenderLoginMismatch))
                    diagnostics.Warning(Where(p, list.Name).File, Where(p, list.Name).Line,
                        $"{list.Name}: restriction \"{r.Name}\" ignored: no definition for smtpd_sender_login_maps");

        // smtpd_check.c: fail when neither list can reject unauthorized relaying.
        if (!HasRelayProtection(RelayRestrictions, new HashSet<string>()) && !HasRelayProtection(RecipientRestrictions, new HashSet<string>()))
        {
            var (file, line) = Where(p, p.IsExplicit("smtpd_relay_restrictions") ? "smtpd_relay_restrictions" : "smtpd_recipient_restrictions");
            diagnostics.Error(file, line, RelayRequirementMessage);
            RelayProtectionMissing = true;
        }
    }

    private readonly RestrictionList? _fakeRelayRestrictions;

    /// <summary>
    /// Postfix's backwards-compatibility safety net for smtpd_relay_restrictions (COMPATIBILITY_README): with
    /// compatibility_level below 1 and smtpd_relay_restrictions not set, the relay list is empty and the relay
    /// policy is the one in smtpd_recipient_restrictions, as before Postfix 2.10. Postfix's built-in level is 0;
    /// Omoikane's is 3.6, so a main.cf without compatibility_level gets the safety net only when it is such a
    /// pre-2.10 file: smtpd_recipient_restrictions set and able to refuse relaying on its own.
    /// </summary>
    private bool UsesBackwardsCompatibleRelayRestrictions(Parameters p)
    {
        if (p.IsExplicit("smtpd_relay_restrictions")) return false;
        if (p.IsExplicit("compatibility_level")) return CompatibilityLevel(p.Get("compatibility_level")) < 1;
        return p.IsExplicit("smtpd_recipient_restrictions") && HasRelayProtection(RecipientRestrictions, new HashSet<string>());
    }

    /// <summary>"0", "1", "2", "3.6": the leading number; an unreadable value counts as the current level.</summary>
    private static double CompatibilityLevel(string value)
    {
        var end = 0;
        while (end < value.Length && (char.IsAsciiDigit(value[end]) || value[end] == '.')) end++;
        var head = value[..end];
        if (head.Count(c => c == '.') > 1) head = head[..head.IndexOf('.', head.IndexOf('.') + 1)];
        return double.TryParse(head, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var level) ? level : 3.6;
    }

    public static SmtpdPolicy Create(PolicyOptions options, ConfigDiagnostics diagnostics) => new(options, diagnostics);

    public PolicyOptions Options { get; }
    public Parameters Parameters { get; }
    public DomainClassifier Domains { get; }
    public NetworkList MyNetworks { get; }
    /// <summary>smtpd_forbid_bare_newline_exclusions (default $mynetworks): clients for which the setting is "no".</summary>
    public NetworkList BareNewlineExclusions { get; }
    public IReadOnlyDictionary<string, RestrictionList> Classes { get; }
    /// <summary>smtpd_sender_login_maps: sender address (or @domain) → the login names that own it.</summary>
    public IReadOnlyList<ILookupTable> SenderLoginMaps { get; }
    public RestrictionList ClientRestrictions { get; }
    public RestrictionList HeloRestrictions { get; }
    public RestrictionList SenderRestrictions { get; }
    public RestrictionList RelayRestrictions { get; }
    public RestrictionList RecipientRestrictions { get; }
    public RestrictionList DataRestrictions { get; }
    public RestrictionList EndOfDataRestrictions { get; }
    public bool DelayReject { get; }
    public bool RelayBeforeRecipient { get; }
    /// <summary>transport_maps, when set: reject_unlisted_recipient refuses what it routes to error: or retry:.</summary>
    public Delivery.Smtp.NextHopResolver? Transports { get; }
    /// <summary>True under Postfix's compatibility safety net: smtpd_relay_restrictions is "(empty)" (see UsesBackwardsCompatibleRelayRestrictions).</summary>
    public bool CompatibleRelayRestrictions { get; }
    /// <summary>True when the configuration cannot stop relaying; every RCPT then gets "451 4.3.5 Server configuration error".</summary>
    public bool RelayProtectionMissing { get; }
    /// <summary>parent_domain_matches_subdomains lists smtpd_access_maps: "example.com" matches subdomains in access tables.</summary>
    public bool AccessParentStyle { get; }

    private static (string File, int Line) Where(Parameters p, string name)
        => p.Source(name) is { } s ? (s.File, s.Line) : ("main.cf", 0);

    private RestrictionList Compile(Parameters p, string name, ConfigDiagnostics diagnostics)
    {
        var (file, line) = Where(p, name);
        return _compiler.Compile(name, p.GetList(name), diagnostics, file, line);
    }

    /// <summary>A restriction list in an access table result, compiled once per distinct value.</summary>
    internal RestrictionList CompileTableResult(string value)
        => _tableResults.GetOrAdd(value, v => _compiler.Compile("access table result", v, new ConfigDiagnostics()));

    private bool HasRelayProtection(RestrictionList list, HashSet<string> seen)
    {
        for (int i = 0; i < list.Items.Count; i++)
        {
            var r = list.Items[i];
            if (r.Kind == RestrictionKind.WarnIfReject) { i++; continue; }
            if (r.Kind == RestrictionKind.Permit) return false;
            if (r.Kind is RestrictionKind.RejectUnauthDestination or RestrictionKind.DeferUnauthDestination
                or RestrictionKind.Reject or RestrictionKind.Defer or RestrictionKind.DeferIfPermit)
                return true;
            if (r.Kind == RestrictionKind.RestrictionClass && seen.Add(r.Name) && Classes.TryGetValue(r.Name, out var cls)
                && HasRelayProtection(cls, seen))
                return true;
        }
        return false;
    }

    private static PolicyResult Result(PolicyEvaluation e, PolicyEvaluation.Status status)
        => new(status == PolicyEvaluation.Status.Reject && e.LastReply is { } reply ? PolicyDecision.FromReply(reply) : PolicyDecision.Accept, e.Log);

    /// <summary>At connect. With smtpd_delay_reject = yes this accepts; the client restrictions run at RCPT.</summary>
    public async ValueTask<PolicyResult> CheckClientAsync(PolicyContext context, PolicySessionState session, IList<PolicyTraceEntry>? trace = null, CancellationToken ct = default)
    {
        if (DelayReject) return PolicyResult.Accepted;
        var e = new PolicyEvaluation(this, context, trace, ct);
        return Result(e, await RunClientAsync(e, session).ConfigureAwait(false));
    }

    /// <summary>At HELO/EHLO (context.HeloName set).</summary>
    public async ValueTask<PolicyResult> CheckHeloAsync(PolicyContext context, PolicySessionState session, IList<PolicyTraceEntry>? trace = null, CancellationToken ct = default)
    {
        if (DelayReject) return PolicyResult.Accepted;
        var e = new PolicyEvaluation(this, context, trace, ct);
        return Result(e, await RunHeloAsync(e, session).ConfigureAwait(false));
    }

    /// <summary>At MAIL FROM (context.Sender set).</summary>
    public async ValueTask<PolicyResult> CheckSenderAsync(PolicyContext context, PolicySessionState session, IList<PolicyTraceEntry>? trace = null, CancellationToken ct = default)
    {
        if (DelayReject) return PolicyResult.Accepted;
        var e = new PolicyEvaluation(this, context, trace, ct);
        return Result(e, await RunSenderAsync(e, session).ConfigureAwait(false));
    }

    /// <summary>At RCPT TO (context.Recipient set): smtpd_check.c smtpd_check_rcpt.</summary>
    public async ValueTask<PolicyResult> CheckRecipientAsync(PolicyContext context, PolicySessionState session, IList<PolicyTraceEntry>? trace = null, CancellationToken ct = default)
    {
        var rcpt = context.Recipient ?? throw new ArgumentException("CheckRecipientAsync needs context.Recipient", nameof(context));
        // RFC 5321 §4.5.1: "postmaster" without a domain is always accepted.
        if (rcpt.Domain.Length == 0 && rcpt.LocalPart.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
            return PolicyResult.Accepted;
        var e = new PolicyEvaluation(this, context, trace, ct);
        PolicyEvaluation.Status status;
        if (DelayReject)
        {
            if ((status = await RunClientAsync(e, session).ConfigureAwait(false)) == PolicyEvaluation.Status.Reject
                || (status = await RunHeloAsync(e, session).ConfigureAwait(false)) == PolicyEvaluation.Status.Reject
                || (status = await RunSenderAsync(e, session).ConfigureAwait(false)) == PolicyEvaluation.Status.Reject)
                return Result(e, status);
        }
        if (RelayProtectionMissing)
        {
            e.Log.Add(new PolicyLogEntry("warning", RelayRequirementMessage));
            return new PolicyResult(PolicyDecision.FromReply(new Smtp.SmtpReply(451, "4.3.5", "Server configuration error")), e.Log);
        }

        e.DeferIfPermit = session.DeferIfPermitSender ?? session.DeferIfPermitHelo ?? session.DeferIfPermitClient;
        e.Reset();
        // Under the compatibility safety net the recipient list runs first, then a relay list that cannot refuse
        // (smtpd_check.c "fake relay restrictions") only to log what the new default would have refused.
        var relay = _fakeRelayRestrictions ?? RelayRestrictions;
        var lists = RelayBeforeRecipient && _fakeRelayRestrictions is null ? new[] { relay, RecipientRestrictions } : new[] { RecipientRestrictions, relay };
        status = PolicyEvaluation.Status.Dunno;
        var replyName = rcpt.ToString();
        foreach (var list in lists)
        {
            e.Stage = list.Name;
            status = list.IsEmpty ? PolicyEvaluation.Status.Dunno
                : await e.GenericChecksAsync(list, replyName, ReplyClass.Recipient, RestrictionKind.CheckRecipientAccess).ConfigureAwait(false);
            if (ReferenceEquals(list, _fakeRelayRestrictions) && status == PolicyEvaluation.Status.Dunno)
                e.Log.Add(PolicyLogEntry.Plain("using backwards-compatible default setting \"smtpd_relay_restrictions = (empty)\" to avoid "
                    + $"\"Relay access denied\" error for recipient \"{replyName}\" from client \"{context.NamAddr}\""));
            if (status == PolicyEvaluation.Status.Reject) break;
        }
        status = await ApplyDeferIfPermitAsync(e, status, context).ConfigureAwait(false);

        // smtpd_reject_unlisted_recipient: an implicit reject_unlisted_recipient after the lists.
        if (Parameters.GetBool("smtpd_reject_unlisted_recipient") && status != PolicyEvaluation.Status.Reject && !e.RecipientRcptMapChecked)
        {
            e.Stage = "smtpd_reject_unlisted_recipient";
            status = await e.CheckRecipientRcptMapsAsync(rcpt).ConfigureAwait(false);
        }
        return Result(e, status);
    }

    /// <summary>At DATA. With more than one recipient the recipient is not shown (smtpd_check_data).</summary>
    public ValueTask<PolicyResult> CheckDataAsync(PolicyContext context, IList<PolicyTraceEntry>? trace = null, CancellationToken ct = default)
        => RunMessageStageAsync(DataRestrictions, "DATA", ReplyClass.Data, context, trace, ct);

    /// <summary>After the message content (smtpd_check_eod).</summary>
    public ValueTask<PolicyResult> CheckEndOfDataAsync(PolicyContext context, IList<PolicyTraceEntry>? trace = null, CancellationToken ct = default)
        => RunMessageStageAsync(EndOfDataRestrictions, "END-OF-MESSAGE", ReplyClass.EndOfData, context, trace, ct);

    private async ValueTask<PolicyResult> RunMessageStageAsync(RestrictionList list, string replyName, string replyClass, PolicyContext context, IList<PolicyTraceEntry>? trace, CancellationToken ct)
    {
        if (context.RecipientCount > 1) context = context with { Recipient = null };
        var e = new PolicyEvaluation(this, context, trace, ct) { Stage = list.Name };
        e.Reset();
        var status = list.IsEmpty ? PolicyEvaluation.Status.Dunno
            : await e.GenericChecksAsync(list, replyName, replyClass, null).ConfigureAwait(false);
        status = await ApplyDeferIfPermitAsync(e, status, context).ConfigureAwait(false);
        return Result(e, status);
    }

    /// <summary>A permit after an earlier temporary problem becomes that deferral.</summary>
    private static ValueTask<PolicyEvaluation.Status> ApplyDeferIfPermitAsync(PolicyEvaluation e, PolicyEvaluation.Status status, PolicyContext context)
    {
        if (status != PolicyEvaluation.Status.Reject && e.DeferIfPermit is { } d)
            return ValueTask.FromResult(e.ForceReject(d));
        return ValueTask.FromResult(status);
    }

    private async ValueTask<PolicyEvaluation.Status> RunClientAsync(PolicyEvaluation e, PolicySessionState session)
    {
        e.DeferIfPermit = null;
        e.Reset();
        e.Stage = ClientRestrictions.Name;
        var status = ClientRestrictions.IsEmpty ? PolicyEvaluation.Status.Dunno
            : await e.GenericChecksAsync(ClientRestrictions, e.Context.NamAddr, ReplyClass.Client, RestrictionKind.CheckClientAccess).ConfigureAwait(false);
        session.DeferIfPermitClient = e.DeferIfPermit;
        return status;
    }

    private async ValueTask<PolicyEvaluation.Status> RunHeloAsync(PolicyEvaluation e, PolicySessionState session)
    {
        if (e.Context.HeloName is not { } helo) return PolicyEvaluation.Status.Dunno;
        e.DeferIfPermit = session.DeferIfPermitClient;
        e.Reset();
        e.Stage = HeloRestrictions.Name;
        var status = HeloRestrictions.IsEmpty ? PolicyEvaluation.Status.Dunno
            : await e.GenericChecksAsync(HeloRestrictions, helo, ReplyClass.Helo, RestrictionKind.CheckHeloAccess).ConfigureAwait(false);
        session.DeferIfPermitHelo = e.DeferIfPermit;
        return status;
    }

    private async ValueTask<PolicyEvaluation.Status> RunSenderAsync(PolicyEvaluation e, PolicySessionState session)
    {
        if (e.Context.Sender is not { } sender) return PolicyEvaluation.Status.Dunno;
        e.DeferIfPermit = session.DeferIfPermitHelo ?? session.DeferIfPermitClient;
        e.SenderRcptMapChecked = false;
        e.Reset();
        e.Stage = SenderRestrictions.Name;
        var status = SenderRestrictions.IsEmpty ? PolicyEvaluation.Status.Dunno
            : await e.GenericChecksAsync(SenderRestrictions, sender.ToString(), ReplyClass.Sender, RestrictionKind.CheckSenderAccess).ConfigureAwait(false);
        session.DeferIfPermitSender = e.DeferIfPermit;
        if (Parameters.GetBool("smtpd_reject_unlisted_sender") && status != PolicyEvaluation.Status.Reject && !e.SenderRcptMapChecked && !sender.IsNull)
        {
            e.Stage = "smtpd_reject_unlisted_sender";
            status = await e.CheckSenderRcptMapsPublicAsync(sender).ConfigureAwait(false);
        }
        return status;
    }
}
