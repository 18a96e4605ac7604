using Omoikane.Mail.Config;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Policy;

public class RestrictionEvaluationTests
{
    private const string Base = """
        myhostname = mx.local.example
        mydestination = $myhostname, local.example, localhost
        mynetworks = 127.0.0.0/8

        """;

    [Fact]
    public async Task FirstNonDunnoWins()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = check_recipient_access inline:{a@local.example=DUNNO, b@local.example=OK}, reject\n");
        Assert.Equal("554 5.7.1 <a@local.example>: Recipient address rejected: Access denied", await Rcpt(p, Ctx(to: "a@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "b@local.example")));
    }

    [Fact]
    public async Task ClientAccessRejectNamesTheClient()
    {
        var p = Build(Base + "smtpd_client_restrictions = check_client_access inline:{192.0.2=REJECT}\n");
        Assert.Equal("554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied", await Rcpt(p, Ctx(to: "u@local.example")));
    }

    [Fact]
    public async Task ClientAccessSearchOrderIsNameParentsAddressNetworks()
    {
        var p = Build(Base + "smtpd_client_restrictions = check_client_access inline:{{example.net=REJECT by-domain}, 192.0.2.1=OK, {192.0.2=REJECT by-net}}, reject\n");
        // The hostname's parent domain comes before the address.
        Assert.Equal("554 5.7.1 <host.example.net[192.0.2.1]>: Client host rejected: by-domain",
            await Rcpt(p, Ctx(name: "host.example.net", to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "u@local.example")));
        Assert.Equal("554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: by-net", await Rcpt(p, Ctx(ip: "192.0.2.7", to: "u@local.example")));
    }

    [Fact]
    public async Task CidrTablesAreNotAskedForNetworkPrefixes()
    {
        var path = TempFile("192.0.2.0/24 REJECT cidr\n");
        var p = Build(Base + $"smtpd_client_restrictions = check_client_access cidr:{path}\n");
        Assert.Equal("554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: cidr", await Rcpt(p, Ctx(ip: "192.0.2.9", to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(ip: "198.51.100.1", to: "u@local.example")));
    }

    [Fact]
    public async Task SenderAccessSearchOrder()
    {
        var table = "inline:{ {user@example.org=REJECT full}, {example.org=REJECT domain}, {example.com=REJECT parent}, postmaster@=OK, {bob@=REJECT localpart} }";
        var p = Build(Base + $"smtpd_sender_restrictions = check_sender_access {table}\n");
        Assert.Equal("554 5.7.1 <user@example.org>: Sender address rejected: full", await Rcpt(p, Ctx(from: "user@example.org", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <other@example.org>: Sender address rejected: domain", await Rcpt(p, Ctx(from: "other@example.org", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <x@sub.example.com>: Sender address rejected: parent", await Rcpt(p, Ctx(from: "x@sub.example.com", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <bob@elsewhere.example>: Sender address rejected: localpart", await Rcpt(p, Ctx(from: "bob@elsewhere.example", to: "u@local.example")));
        // The domain comes before "localpart@".
        Assert.Equal("554 5.7.1 <bob@example.org>: Sender address rejected: domain", await Rcpt(p, Ctx(from: "bob@example.org", to: "u@local.example")));
    }

    [Fact]
    public async Task DotDomainFormWhenParentMatchingIsOff()
    {
        var p = Build(Base + """
            parent_domain_matches_subdomains = relay_domains
            smtpd_sender_restrictions = check_sender_access inline:{{example.com=REJECT plain}, {.example.net=REJECT dotted}}
            """);
        Assert.Equal("accept", await Rcpt(p, Ctx(from: "x@sub.example.com", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <x@sub.example.net>: Sender address rejected: dotted", await Rcpt(p, Ctx(from: "x@sub.example.net", to: "u@local.example")));
    }

    [Fact]
    public async Task NullSenderUsesTheNullKey()
    {
        var p = Build(Base + "smtpd_sender_restrictions = check_sender_access inline:{{<>=550 Go away postmaster}}\n");
        Assert.Equal("550 5.7.1 <>: Sender address rejected: Go away postmaster", await Rcpt(p, Ctx(from: "", to: "u@local.example")));
    }

    [Fact]
    public async Task HeloAccessRejectAndCustomCodes()
    {
        var p = Build(Base + "smtpd_helo_restrictions = check_helo_access inline:{bad.example=REJECT, { worse.example = 550 5.7.0 go away }}\n");
        Assert.Equal("554 5.7.1 <bad.example>: Helo command rejected: Access denied", await Rcpt(p, Ctx(helo: "bad.example", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <x.bad.example>: Helo command rejected: Access denied", await Rcpt(p, Ctx(helo: "x.bad.example", to: "u@local.example")));
        Assert.Equal("550 5.7.0 <worse.example>: Helo command rejected: go away", await Rcpt(p, Ctx(helo: "worse.example", to: "u@local.example")));
    }

    [Fact]
    public async Task TableResultMayBeARestrictionList()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = check_recipient_access inline:{{ local.example = permit_mynetworks, reject }}\n");
        Assert.Equal("accept", await Rcpt(p, Ctx(ip: "127.0.0.1", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <u@local.example>: Recipient address rejected: Access denied", await Rcpt(p, Ctx(to: "u@local.example")));
    }

    [Fact]
    public async Task RestrictionClassesAreExpanded()
    {
        var p = Build(Base + """
            smtpd_restriction_classes = strict
            strict = reject_non_fqdn_sender, reject
            smtpd_recipient_restrictions = check_recipient_access inline:{strict@local.example=strict}
            """);
        Assert.Equal("504 5.5.2 <a@localhost>: Sender address rejected: need fully-qualified address",
            await Rcpt(p, Ctx(from: "a@localhost", to: "strict@local.example")));
        Assert.Equal("554 5.7.1 <strict@local.example>: Recipient address rejected: Access denied",
            await Rcpt(p, Ctx(to: "strict@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "other@local.example")));
    }

    [Fact]
    public async Task WarnIfRejectOnlyLogsTheNextRestriction()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = warn_if_reject, reject_non_fqdn_sender, check_recipient_access inline:{{w@local.example=WARN looks odd}}\n");
        var r = await p.CheckRecipientAsync(Ctx(from: "a@localhost", to: "w@local.example"), new());
        Assert.True(r.IsAccepted);
        Assert.Equal(
            [new PolicyLogEntry("reject_warning", "504 5.5.2 <a@localhost>: Sender address rejected: need fully-qualified address"), new PolicyLogEntry("warn", "looks odd")],
            r.Log);
        var line = r.Log[0].Format(Ctx(from: "a@localhost", to: "w@local.example"), "RCPT");
        Assert.Equal("NOQUEUE: reject_warning: RCPT from unknown[192.0.2.1]: 504 5.5.2 <a@localhost>: Sender address rejected: need fully-qualified address; from=<a@localhost> to=<w@local.example> proto=ESMTP helo=<client.example>", line);
    }

    [Fact]
    public async Task DeferIfPermitTurnsALaterPermitIntoADeferral()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = defer_if_permit, permit\n");
        Assert.Equal("450 4.7.0 <u@local.example>: Recipient address rejected: defer_if_permit requested", await Rcpt(p, Ctx(to: "u@local.example")));
    }

    [Fact]
    public async Task DeferIfRejectTurnsALaterRejectIntoADeferral()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = defer_if_reject, reject\n");
        Assert.Equal("450 4.7.0 <u@local.example>: Recipient address rejected: defer_if_reject requested", await Rcpt(p, Ctx(to: "u@local.example")));
        p = Build(Base + "smtpd_recipient_restrictions = defer_if_reject, permit\n");
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "u@local.example")));
    }

    [Fact]
    public async Task TableTempFailIsATemporaryLookupFailureEvenUnderWarnIfReject()
    {
        var tables = new TableFactory();
        tables.Register("test:down", new TempFailTable("test:down"));
        var p = Build(Base + "smtpd_recipient_restrictions = warn_if_reject, check_recipient_access test:down\n", tables: tables);
        Assert.Equal("451 4.3.0 <u@local.example>: Temporary lookup failure", await Rcpt(p, Ctx(to: "u@local.example")));
    }

    [Fact]
    public async Task DelayRejectEvaluatesClientRestrictionsAtRcpt()
    {
        var cf = Base + "smtpd_client_restrictions = check_sender_access inline:{bad@example.org=REJECT}\n";
        var delayed = Build(cf);
        var state = new PolicySessionState();
        Assert.True((await delayed.CheckClientAsync(Ctx(from: null), state)).IsAccepted);
        // With delay_reject the client list sees the sender, because it runs at RCPT time.
        Assert.Equal("554 5.7.1 <bad@example.org>: Sender address rejected: Access denied",
            await Rcpt(delayed, Ctx(from: "bad@example.org", to: "u@local.example"), state));

        var immediate = Build(cf + "smtpd_delay_reject = no\n");
        state = new PolicySessionState();
        Assert.True((await immediate.CheckClientAsync(Ctx(from: null, helo: null), state)).IsAccepted);
        Assert.Equal("accept", await Rcpt(immediate, Ctx(from: "bad@example.org", to: "u@local.example"), state));
    }

    [Fact]
    public async Task WithoutDelayRejectEachStageRejectsAtItsOwnCommand()
    {
        var p = Build(Base + """
            smtpd_delay_reject = no
            smtpd_client_restrictions = check_client_access inline:{192.0.2.66=REJECT}
            smtpd_helo_restrictions = reject_invalid_helo_hostname
            """);
        var state = new PolicySessionState();
        Assert.Equal("554 5.7.1 <unknown[192.0.2.66]>: Client host rejected: Access denied",
            (await p.CheckClientAsync(Ctx(ip: "192.0.2.66", helo: null, from: null), state)).Decision.ToString());
        Assert.Equal("501 5.5.2 <bad..name>: Helo command rejected: Invalid name",
            (await p.CheckHeloAsync(Ctx(helo: "bad..name", from: null), state)).Decision.ToString());
    }

    [Fact]
    public async Task DelayedStagesRunInOrderClientHeloSender()
    {
        var p = Build(Base + """
            smtpd_client_restrictions = check_client_access inline:{{192.0.2.1=REJECT client}}
            smtpd_helo_restrictions = check_helo_access inline:{{client.example=REJECT helo}}
            smtpd_sender_restrictions = check_sender_access inline:{{example.org=REJECT sender}}
            """);
        var trace = new List<PolicyTraceEntry>();
        var r = await p.CheckRecipientAsync(Ctx(to: "u@local.example"), new(), trace);
        Assert.Equal("554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: client", r.Decision.ToString());
        Assert.Contains(trace, t => t.Stage == "smtpd_client_restrictions" && t.Verdict.StartsWith("reject"));
        Assert.DoesNotContain(trace, t => t.Stage == "smtpd_helo_restrictions");
        Assert.Equal("554 5.7.1 <client.example>: Helo command rejected: helo", await Rcpt(p, Ctx(ip: "192.0.2.2", to: "u@local.example")));
    }

    [Fact]
    public async Task RelayRestrictionPermitStillRunsRecipientRestrictions()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = check_recipient_access inline:{no@local.example=REJECT}\n");
        Assert.Equal("554 5.7.1 <no@local.example>: Recipient address rejected: Access denied", await Rcpt(p, Ctx(ip: "127.0.0.1", to: "no@local.example")));
    }

    [Fact]
    public async Task UnlistedRecipientIsRejectedAfterTheListsPermit()
    {
        var users = new FakeLocalRecipients("alice@local.example");
        var p = Build(Base, users: users);
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "alice@local.example")));
        Assert.Equal("550 5.1.1 <nobody@localhost>: Recipient address rejected: User unknown in local recipient table", await Rcpt(p, Ctx(to: "nobody@localhost")));
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "postmaster@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "postmaster") with { Recipient = new("postmaster", "") }));
        Assert.Equal("550 5.1.1 <nobody@local.example>: Recipient address rejected: User unknown in local recipient table",
            await Rcpt(p, Ctx(ip: "127.0.0.1", to: "nobody@local.example")));
        users.TempFail = true;
        Assert.Equal("451 4.3.0 <alice@local.example>: Temporary lookup failure", await Rcpt(p, Ctx(to: "alice@local.example")));
        var off = Build(Base + "smtpd_reject_unlisted_recipient = no\n", users: new FakeLocalRecipients());
        Assert.Equal("accept", await Rcpt(off, Ctx(to: "nobody@local.example")));
    }

    [Fact]
    public async Task PopBeforeSmtpPermitsRecentPopClients()
    {
        var now = DateTimeOffset.Parse("2025-01-01T00:00:00Z");
        var time = new FixedTime(now);
        var reg = new PopBeforeSmtpRegistry(TimeSpan.FromMinutes(10));
        var p = Build(Base + "smtpd_relay_restrictions = permit_pop_before_smtp, reject_unauth_destination\n", pop: reg, time: time);
        Assert.Equal("554 5.7.1 <u@remote.example>: Relay access denied", await Rcpt(p, Ctx(to: "u@remote.example")));
        reg.Record(System.Net.IPAddress.Parse("192.0.2.1"), now.AddMinutes(-9));
        Assert.Equal("accept", await Rcpt(p, Ctx(to: "u@remote.example")));
        time.Now = now.AddMinutes(2);
        Assert.Equal("554 5.7.1 <u@remote.example>: Relay access denied", await Rcpt(p, Ctx(to: "u@remote.example")));
    }

    [Fact]
    public void ConfigurationErrorsNameTheParameter()
    {
        var diags = new ConfigDiagnostics();
        SmtpdPolicy.Create(new PolicyOptions { Parameters = Params(Base + """
            smtpd_recipient_restrictions = permit_mynetworks, reject_unknwon_sender_domain, check_sender_access, reject_unauth_destination
            """) }, diags);
        Assert.Equal(2, diags.Errors.Count());
        Assert.Contains(diags.Errors, d => d.Message.Contains("smtpd_recipient_restrictions") && d.Message.Contains("reject_unknwon_sender_domain"));
        Assert.Contains(diags.Errors, d => d.Message.Contains("check_sender_access") && d.Message.Contains("type:name"));
        Assert.All(diags.Errors, d => Assert.Equal("main.cf", d.File));
    }

    [Fact]
    public async Task MissingRelayProtectionIsAConfigurationError()
    {
        var diags = new ConfigDiagnostics();
        var p = SmtpdPolicy.Create(new PolicyOptions { Parameters = Params(Base + "smtpd_relay_restrictions = permit_mynetworks\nsmtpd_recipient_restrictions = permit\n") }, diags);
        Assert.Contains(diags.Errors, d => d.Message.Contains("the smtpd_relay_restrictions and smtpd_recipient_restrictions parameters both specify a list with no restrictions that reject unauthorized relaying"));
        Assert.Equal("451 4.3.5 Server configuration error", await Rcpt(p, Ctx(to: "u@remote.example")));

        diags = new ConfigDiagnostics();
        SmtpdPolicy.Create(new PolicyOptions { Parameters = Params(Base + """
            smtpd_restriction_classes = guard
            guard = reject_unauth_destination
            smtpd_relay_restrictions = permit_mynetworks, guard
            """) }, diags);
        Assert.Empty(diags.Errors);
    }

    [Fact]
    public async Task UnknownRestrictionInATableResultIsAServerError()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = check_recipient_access inline:{x@local.example=no_such_thing}\n");
        Assert.Equal("451 4.3.5 Server configuration error", await Rcpt(p, Ctx(to: "x@local.example")));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
