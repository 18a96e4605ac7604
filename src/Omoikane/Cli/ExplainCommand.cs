using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Cli;

/// <summary>
/// omoikane explain --client IP [--helo NAME] [--from ADDR] [--to ADDR] [--sasl USER] [--service NAME] [--json]:
/// runs one smtpd service's whole policy for a hypothetical session, without sending mail. Resolves
/// the client name as the server does (PTR, then forward confirmation) through the configured resolver,
/// evaluates the stages in Postfix order with tracing, and prints every restriction's verdict with the
/// DNS answers and table lookups behind it, each stage's result and the maillog line the server would
/// write. Exit 0 when the mail would be accepted, 1 when rejected or deferred, 2 on usage or config errors.
/// </summary>
public static class ExplainCommand
{
    /// <summary>Stands in for the queue id the server would assign at the first accepted RCPT.</summary>
    public const string QueueIdPlaceholder = "QUEUEID";

    public static Command Create()
    {
        var client = new Option<string?>("--client") { Description = "IP address of the client (required)" };
        var helo = new Option<string?>("--helo") { Description = "Name the client sends in EHLO" };
        var from = new Option<string?>("--from") { Description = "Envelope sender (MAIL FROM); \"\" or <> for the null sender" };
        var to = new Option<string?>("--to") { Description = "Envelope recipient (RCPT TO)" };
        var sasl = new Option<string?>("--sasl") { Description = "The client authenticated as this user (SMTP AUTH)" };
        var service = new Option<string?>("--service") { Description = "master.cf service whose -o overrides apply (default: the first smtpd service)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text" };
        var cmd = new Command("explain", "Evaluate the policy for a hypothetical session, restriction by restriction, without sending mail")
        {
            client, helo, from, to, sasl, service, json,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            try { return await RunAsync(parse, ct).ConfigureAwait(false); }
            catch (CliException ex)
            {
                Console.Error.WriteLine($"omoikane: {ex.Message}");
                return ex.ExitCode;
            }
        });
        return cmd;

        async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
        {
            var request = new ExplainRequest
            {
                Client = Required(parse.GetValue(client), "--client"),
                Helo = parse.GetValue(helo), From = parse.GetValue(from), To = parse.GetValue(to),
                Sasl = parse.GetValue(sasl), Service = parse.GetValue(service), Json = parse.GetValue(json),
            };
            LoadedConfig config;
            try { config = CliConfig.Load(parse); }
            catch (CliException ex) { throw new CliException(ex.Message, 2); }
            return await ExplainAsync(request, config, Console.Out, Console.Error, ct).ConfigureAwait(false);
        }
    }

    private static string Required(string? value, string name)
        => string.IsNullOrWhiteSpace(value) ? throw new CliException($"explain: {name} is required", 2) : value;

    /// <summary>The evaluation itself; usage errors throw <see cref="CliException"/> with exit code 2.</summary>
    internal static async Task<int> ExplainAsync(ExplainRequest request, LoadedConfig config, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (!IPAddress.TryParse(request.Client, out var address))
            throw new CliException($"explain: --client \"{request.Client}\" is not an IP address", 2);
        address = IpNetwork.Normalize(address);
        var helo = string.IsNullOrWhiteSpace(request.Helo) ? null : request.Helo.Trim();
        var sender = request.From is null ? null : ParseAddress(request.From, "--from", allowNull: true);
        var recipient = request.To is null ? null : ParseAddress(request.To, "--to", allowNull: false);
        var service = FindService(config, request.Service);
        var p = config.For(service);

        if (!DnsResolverOptions.TryFromParameters(p, out var dnsOptions, out var dnsErrors))
            throw new CliException($"explain: {string.Join("; ", dnsErrors)}", 2);
        var dns = new RecordingResolver(new DnsResolver(dnsOptions));

        // Without a recipient no RCPT happens, so with smtpd_delay_reject = yes nothing would be evaluated:
        // evaluate each list at its own stage instead, and say so.
        var notes = new List<string>();
        if (recipient is null && p.GetBool("smtpd_delay_reject"))
        {
            p = p.With("smtpd_delay_reject", "no");
            notes.Add("no --to: the client, helo and sender restrictions are evaluated at their own stage (as with smtpd_delay_reject = no); the server evaluates them at RCPT");
        }
        var tables = new TableFactory(config.ConfigDirectory);
        var diags = new ConfigDiagnostics();
        var aliases = p.GetList("alias_maps").Select(spec => tables.CreateAliasMap(spec, diags, config.MainCfPath)).OfType<ILookupTable>().ToList();
        var users = new FileUserStore(p.Get("user_database"), CredentialOptions.FromParameters(p));
        var policy = SmtpdPolicy.Create(new PolicyOptions
        {
            Parameters = p, Dns = dns, Tables = tables,
            LocalRecipients = new LocalRecipients(p, aliases, new UserStoreUsers(users), new DomainClassifier(p, tables, new ConfigDiagnostics())),
        }, diags);
        foreach (var d in diags.Items) error.WriteLine($"omoikane: {d}");

        var identity = await ClientNameResolver.ResolveAsync(address, dns, ct).ConfigureAwait(false);
        var resolution = dns.TakeRecords();
        var report = new ExplainReport(service, address, identity, resolution, notes);

        var session = new PolicySessionState();
        var ctx = new PolicyContext { ClientAddress = address, SaslUsername = request.Sasl }.WithClient(identity);
        var outcome = await RunStageAsync(report, "CONNECT", "CONNECT", ctx, policy.DelayReject ? "smtpd_client_restrictions" : null,
            t => policy.CheckClientAsync(ctx, session, t, ct)).ConfigureAwait(false);
        if (outcome && helo is not null)
        {
            ctx = ctx with { HeloName = helo };
            outcome = await RunStageAsync(report, "EHLO", $"EHLO {helo}", ctx, policy.DelayReject ? "smtpd_helo_restrictions" : null,
                t => policy.CheckHeloAsync(ctx, session, t, ct)).ConfigureAwait(false);
        }
        if (outcome && sender is not null)
        {
            ctx = ctx with { Sender = sender };
            outcome = await RunStageAsync(report, "MAIL", $"MAIL FROM:<{sender}>", ctx, policy.DelayReject ? "smtpd_sender_restrictions" : null,
                t => policy.CheckSenderAsync(ctx, session, t, ct)).ConfigureAwait(false);
        }
        if (outcome && recipient is not null)
        {
            ctx = ctx with { Recipient = recipient };
            outcome = await RunStageAsync(report, "RCPT", $"RCPT TO:<{recipient}>", ctx, null,
                t => policy.CheckRecipientAsync(ctx, session, t, ct)).ConfigureAwait(false);
            if (outcome)
            {
                ctx = ctx with { QueueId = QueueIdPlaceholder, RecipientCount = 1 };
                report.Accepted = $"{QueueIdPlaceholder}: client={ctx.NamAddr}";
                outcome = await RunStageAsync(report, "DATA", "DATA", ctx, null,
                    t => policy.CheckDataAsync(ctx, t, ct)).ConfigureAwait(false);
                if (!outcome) report.Accepted = null;
            }
        }
        if (request.Json) output.WriteLine(report.ToJson());
        else report.WriteText(output);
        return report.Final is { } final && !final.IsAccepted ? 1 : 0;
    }

    private static async Task<bool> RunStageAsync(ExplainReport report, string where, string command, PolicyContext ctx, string? delayedList,
        Func<List<PolicyTraceEntry>, ValueTask<PolicyResult>> check)
    {
        var trace = new List<PolicyTraceEntry>();
        var result = await check(trace).ConfigureAwait(false);
        var stage = new ExplainStage(where, command, trace, result,
            result.Log.Select(l => l.Format(ctx, where)).ToList(),
            result.IsAccepted ? null : PolicyLogEntry.FormatLine(ctx, "reject", where, result.Decision.Reply!.Value.ToString()),
            delayedList is null ? null : $"smtpd_delay_reject = yes: {delayedList} run at RCPT");
        report.Stages.Add(stage);
        report.Final = result.Decision;
        return result.IsAccepted;
    }

    private static MailAddress ParseAddress(string text, string option, bool allowNull)
    {
        var t = text.Trim();
        if (allowNull && t is "" or "<>") return MailAddress.Null;
        var error = PathParser.TryParse(t.StartsWith('<') ? t : $"<{t}>", allowNull, utf8: true, out var address, out _);
        if (error != PathError.None || (!allowNull && address.IsNull))
            throw new CliException($"explain: {option} \"{text}\" is not a mail address ({error})", 2);
        return address;
    }

    private static MasterService FindService(LoadedConfig config, string? name)
    {
        var smtpd = config.Services.Where(s => s.IsSmtpd).ToList();
        if (name is null)
            return smtpd.FirstOrDefault() ?? throw new CliException("explain: master.cf defines no smtpd service", 2);
        return smtpd.FirstOrDefault(s => s.Service.Equals(name, StringComparison.OrdinalIgnoreCase) || s.Endpoint.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw new CliException($"explain: no smtpd service \"{name}\" in master.cf (services: {string.Join(", ", smtpd.Select(s => s.Service))})", 2);
    }

    /// <summary>The command line of one explain run.</summary>
    internal sealed record ExplainRequest
    {
        public required string Client { get; init; }
        public string? Helo { get; init; }
        public string? From { get; init; }
        public string? To { get; init; }
        public string? Sasl { get; init; }
        public string? Service { get; init; }
        public bool Json { get; init; }
    }

    /// <summary>One DNS query made while finding the client name, with its answer.</summary>
    private sealed record DnsQueryRecord(string Type, string Name, DnsStatus Status, IReadOnlyList<string> Records, string? Error)
    {
        public override string ToString()
            => $"dns {Type} {Name} -> {Status.ToString().ToLowerInvariant()}{(Records.Count > 0 ? ": " + string.Join(", ", Records) : "")}{(Status == DnsStatus.TempFail && Error is not null ? " (" + Error + ")" : "")}";
    }

    /// <summary>Passes queries to the process resolver and remembers them, to show how the client name was found.</summary>
    private sealed class RecordingResolver(IDnsResolver inner) : IDnsResolver
    {
        private readonly List<DnsQueryRecord> _records = new();

        public List<DnsQueryRecord> TakeRecords()
        {
            lock (_records)
            {
                var taken = _records.ToList();
                _records.Clear();
                return taken;
            }
        }

        private DnsAnswer<T> Record<T>(string type, string name, DnsAnswer<T> answer)
        {
            lock (_records)
                _records.Add(new DnsQueryRecord(type, name, answer.Status, answer.Records.Select(r => r?.ToString() ?? "").ToList(), answer.Error));
            return answer;
        }

        public async ValueTask<DnsAnswer<string>> LookupPtrAsync(IPAddress address, CancellationToken ct = default)
            => Record("PTR", ReverseDomainName.Arpa(address), await inner.LookupPtrAsync(address, ct).ConfigureAwait(false));

        public async ValueTask<DnsAnswer<IPAddress>> LookupAddressesAsync(string name, CancellationToken ct = default)
            => Record("A/AAAA", name, await inner.LookupAddressesAsync(name, ct).ConfigureAwait(false));

        public async ValueTask<DnsAnswer<MxRecord>> LookupMxAsync(string domain, CancellationToken ct = default)
            => Record("MX", domain, await inner.LookupMxAsync(domain, ct).ConfigureAwait(false));

        public async ValueTask<DnsAnswer<string>> LookupTxtAsync(string name, CancellationToken ct = default)
            => Record("TXT", name, await inner.LookupTxtAsync(name, ct).ConfigureAwait(false));
    }

    /// <summary>One SMTP stage of the hypothetical session: the trace, the decision and what the server would log.</summary>
    private sealed record ExplainStage(string Where, string Command, IReadOnlyList<PolicyTraceEntry> Trace, PolicyResult Result,
        IReadOnlyList<string> Warnings, string? RejectLine, string? Note)
    {
        public string Verdict => Result.IsAccepted ? "accept" : "reject: " + Result.Decision.Reply!.Value;
    }

    /// <summary>Everything an explain run found, printed as text or JSON.</summary>
    private sealed class ExplainReport(MasterService service, IPAddress address, ClientIdentity identity, IReadOnlyList<DnsQueryRecord> resolution, IReadOnlyList<string> notes)
    {
        public List<ExplainStage> Stages { get; } = new();
        public PolicyDecision? Final { get; set; }
        /// <summary>The line the server writes when the first recipient is accepted.</summary>
        public string? Accepted { get; set; }

        private string NamAddr => $"{identity.Name}[{address}]";

        private string Result => Final is { } f ? f.Verdict switch
        {
            PolicyVerdict.Accept => "accepted",
            PolicyVerdict.Defer => "deferred",
            _ => "rejected",
        } : "accepted";

        /// <summary>Why the client has the name it has (smtpd_peer.c).</summary>
        private string NameReason => identity.NameStatus switch
        {
            PeerNameStatus.Ok => $"forward-confirmed: {identity.Name} resolves back to {address}",
            PeerNameStatus.Temp => "temporary DNS failure: reject_unknown_client_hostname answers 450 whatever unknown_client_reject_code says",
            PeerNameStatus.Forged => $"not forward-confirmed: PTR name {identity.ReverseName} does not resolve back to {address}",
            _ => "no PTR record, or one that is not a valid hostname",
        };

        public void WriteText(TextWriter o)
        {
            o.WriteLine($"service: {service.Service}{(service.Overrides.Count == 0 ? "" : " (" + string.Join(" ", service.Overrides.Select(e => $"-o {e.Name}={e.Value}")) + ")")}");
            o.WriteLine($"client {address}");
            foreach (var r in resolution) o.WriteLine($"  {r}");
            o.WriteLine($"client name: {NamAddr} ({NameReason})");
            foreach (var n in notes) o.WriteLine($"note: {n}");
            foreach (var s in Stages)
            {
                if (s.Trace.Count > 0) o.WriteLine($"{s.Command}:");
                // DNS answers and table lookups are recorded before the verdict of their restriction: print them under it.
                var pending = new List<PolicyTraceEntry>();
                foreach (var t in s.Trace)
                {
                    if (IsDetail(t)) { pending.Add(t); continue; }
                    o.WriteLine($"  {t.Stage}: {Indent(t.Depth)}{t.Restriction} -> {t.Verdict}{(t.Detail is null ? "" : " (" + t.Detail + ")")}");
                    foreach (var d in pending) o.WriteLine($"      {Indent(t.Depth)}{Detail(d)}");
                    pending.Clear();
                }
                foreach (var d in pending) o.WriteLine($"      {Detail(d)}");
                o.WriteLine($"{s.Where}: {s.Verdict}{(s.Note is not null && s.Trace.Count == 0 ? " (" + s.Note + ")" : "")}");
                foreach (var w in s.Warnings) o.WriteLine($"maillog: {w}");
                if (s.RejectLine is not null) o.WriteLine($"maillog: {s.RejectLine}");
            }
            if (Accepted is not null) o.WriteLine($"maillog: {Accepted}");
            o.WriteLine($"result: {Result}");
        }

        private static bool IsDetail(PolicyTraceEntry t)
            => t.Restriction is "dns" or "lookup" || t.Verdict == "reject_warning";

        private static string Indent(int depth) => new(' ', Math.Max(0, depth - 1) * 2);

        private static string Detail(PolicyTraceEntry d) => d.Restriction switch
        {
            "dns" or "lookup" => $"{d.Restriction} {d.Detail} -> {d.Verdict}",
            _ => $"{d.Restriction}: {d.Verdict} {d.Detail}",
        };

        public string ToJson()
        {
            var dns = new JsonArray();
            foreach (var r in resolution)
                dns.Add(new JsonObject
                {
                    ["type"] = r.Type, ["name"] = r.Name, ["status"] = r.Status.ToString().ToLowerInvariant(),
                    ["records"] = new JsonArray(r.Records.Select(x => (JsonNode?)x).ToArray()), ["error"] = r.Error,
                });
            var stages = new JsonArray();
            foreach (var s in Stages)
            {
                var trace = new JsonArray();
                foreach (var t in s.Trace)
                    trace.Add(new JsonObject
                    {
                        ["list"] = t.Stage, ["depth"] = t.Depth, ["restriction"] = t.Restriction, ["verdict"] = t.Verdict, ["detail"] = t.Detail,
                    });
                var reply = s.Result.Decision.Reply;
                var maillog = new JsonArray(s.Warnings.Select(w => (JsonNode?)w).ToArray());
                if (s.RejectLine is not null) maillog.Add(s.RejectLine);
                stages.Add(new JsonObject
                {
                    ["stage"] = s.Where, ["command"] = s.Command,
                    ["verdict"] = s.Result.Decision.Verdict.ToString().ToLowerInvariant(),
                    ["reply"] = reply?.ToString(), ["code"] = reply?.Code, ["enhanced_code"] = reply?.Enhanced,
                    ["note"] = s.Note, ["trace"] = trace, ["maillog"] = maillog,
                });
            }
            return new JsonObject
            {
                ["service"] = service.Service,
                ["client"] = new JsonObject
                {
                    ["address"] = address.ToString(), ["name"] = identity.Name, ["name_status"] = identity.NameStatus.ToString().ToLowerInvariant(),
                    ["reverse_name"] = identity.ReverseName, ["reverse_name_status"] = identity.ReverseNameStatus.ToString().ToLowerInvariant(),
                    ["dns"] = dns,
                },
                ["notes"] = new JsonArray(notes.Select(n => (JsonNode?)n).ToArray()),
                ["stages"] = stages,
                ["maillog"] = Accepted,
                ["result"] = Result,
            }.ToJsonString();
        }
    }
}
