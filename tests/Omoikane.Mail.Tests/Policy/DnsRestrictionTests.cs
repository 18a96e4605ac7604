using System.Net;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Policy;

public class DnsRestrictionTests
{
    private const string Base = """
        myhostname = mx.local.example
        mydestination = $myhostname, local.example
        mynetworks = 127.0.0.0/8

        """;

    private static async Task<PolicyContext> Resolved(FakeDnsResolver dns, string ip = "192.0.2.1")
        => Ctx(ip: ip, to: "u@local.example").WithClient(await ClientNameResolver.ResolveAsync(IPAddress.Parse(ip), dns));

    [Fact]
    public async Task ClientNameIsForwardConfirmed()
    {
        var dns = new FakeDnsResolver();
        dns.Ptr["192.0.2.1"] = ["mail.example.net."];
        dns.WithHost("mail.example.net", "192.0.2.1");
        Assert.Equal(new ClientIdentity("mail.example.net", PeerNameStatus.Ok, "mail.example.net", PeerNameStatus.Ok),
            await ClientNameResolver.ResolveAsync(IPAddress.Parse("192.0.2.1"), dns));
        dns.WithHost("mail.example.net", "192.0.2.99");
        Assert.Equal(new ClientIdentity("unknown", PeerNameStatus.Forged, "mail.example.net", PeerNameStatus.Ok),
            await ClientNameResolver.ResolveAsync(IPAddress.Parse("192.0.2.1"), dns));
    }

    [Fact]
    public async Task UnknownClientHostname()
    {
        var p = Build(Base + "smtpd_client_restrictions = reject_unknown_client_hostname\n");
        var dns = new FakeDnsResolver();
        // No PTR at all: unknown_client_reject_code (450 by default).
        Assert.Equal("450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]", await Rcpt(p, await Resolved(dns)));
        // PTR not forward-confirmed, with a permanent code configured.
        var p550 = Build(Base + "smtpd_client_restrictions = reject_unknown_client_hostname\nunknown_client_reject_code = 550\n");
        dns.Ptr["192.0.2.1"] = ["mail.example.net"];
        dns.WithHost("mail.example.net", "192.0.2.99");
        Assert.Equal("550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]", await Rcpt(p550, await Resolved(dns)));
        // Temporary failure: always 450, whatever the configured code.
        dns.TempFail.Add("192.0.2.1");
        Assert.Equal("450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]", await Rcpt(p550, await Resolved(dns)));
        // Confirmed name passes.
        dns.TempFail.Clear();
        dns.WithHost("mail.example.net", "192.0.2.1");
        Assert.Equal("accept", await Rcpt(p550, await Resolved(dns)));
    }

    [Fact]
    public async Task UnknownReverseClientHostnameOnlyNeedsAPtr()
    {
        var p = Build(Base + "smtpd_client_restrictions = reject_unknown_reverse_client_hostname\n");
        var dns = new FakeDnsResolver();
        Assert.Equal("450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]", await Rcpt(p, await Resolved(dns)));
        dns.Ptr["192.0.2.1"] = ["mail.example.net"]; // not forward-confirmed: fine for this check
        Assert.Equal("accept", await Rcpt(p, await Resolved(dns)));
    }

    [Fact]
    public async Task RblClientListedAndUnlisted()
    {
        var dns = new FakeDnsResolver();
        dns.WithHost("1.2.0.192.zen.example", "127.0.0.2");
        dns.Txt["1.2.0.192.zen.example"] = ["Listed, see https://zen.example/q?192.0.2.1"];
        dns.WithHost("2.2.0.192.zen.example", "127.0.0.10");
        var p = Build(Base + "smtpd_client_restrictions = reject_rbl_client zen.example\n", dns);
        Assert.Equal("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.example; Listed, see https://zen.example/q?192.0.2.1",
            await Rcpt(p, Ctx(to: "u@local.example")));
        Assert.Equal("554 5.7.1 Service unavailable; Client host [192.0.2.2] blocked using zen.example",
            await Rcpt(p, Ctx(ip: "192.0.2.2", to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(ip: "192.0.2.3", to: "u@local.example")));

        // With a reply filter only matching answers count.
        var filtered = Build(Base + "smtpd_client_restrictions = reject_rbl_client zen.example=127.0.0.[2..4]\n", dns);
        Assert.StartsWith("554 5.7.1 Service unavailable; Client host [192.0.2.1]", await Rcpt(filtered, Ctx(to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(filtered, Ctx(ip: "192.0.2.2", to: "u@local.example")));
    }

    [Fact]
    public async Task RblTemporaryFailureGivesTheBenefitOfTheDoubt()
    {
        var dns = new FakeDnsResolver();
        dns.TempFail.Add("1.2.0.192.zen.example");
        var p = Build(Base + "smtpd_client_restrictions = reject_rbl_client zen.example\n", dns);
        var r = await p.CheckRecipientAsync(Ctx(to: "u@local.example"), new());
        Assert.True(r.IsAccepted);
        Assert.Contains(r.Log, l => l.Action == "warning" && l.Text.Contains("1.2.0.192.zen.example"));
    }

    [Fact]
    public async Task RblQueriesIpv6ByNibbles()
    {
        var dns = new FakeDnsResolver();
        var p = Build(Base + "smtpd_client_restrictions = reject_rbl_client zen.example\n", dns);
        await Rcpt(p, Ctx(ip: "2001:db8::1", to: "u@local.example"));
        Assert.Contains("A 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example", dns.Queries);
    }

    [Fact]
    public async Task UnknownSenderDomain()
    {
        var dns = new FakeDnsResolver();
        dns.Mx["example.org"] = [new MxRecord(10, "mx.example.org")];
        dns.WithHost("a-only.example", "192.0.2.5");
        dns.Mx["nomail.example"] = [new MxRecord(0, ".")];
        dns.TempFail.Add("broken.example");
        var p = Build(Base + "smtpd_sender_restrictions = reject_unknown_sender_domain\n", dns);
        Assert.Equal("accept", await Rcpt(p, Ctx(from: "a@example.org", to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(from: "a@a-only.example", to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(from: "a@local.example", to: "u@local.example"))); // local: no lookup
        Assert.Equal("450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found", await Rcpt(p, Ctx(from: "a@nx.example", to: "u@local.example")));
        Assert.Equal("550 5.7.27 <a@nomail.example>: Sender address rejected: Domain nomail.example does not accept mail (nullMX)",
            await Rcpt(p, Ctx(from: "a@nomail.example", to: "u@local.example")));
        // Temporary failure: defer_if_permit, so the deferral shows only when nothing rejects.
        Assert.Equal("450 4.1.8 <a@broken.example>: Sender address rejected: Domain not found", await Rcpt(p, Ctx(from: "a@broken.example", to: "u@local.example")));
        Assert.Equal("554 5.7.1 <u@remote.example>: Relay access denied", await Rcpt(p, Ctx(from: "a@broken.example", to: "u@remote.example")));
    }

    [Fact]
    public async Task UnknownRecipientDomain()
    {
        var dns = new FakeDnsResolver();
        dns.Mx["nomail.example"] = [new MxRecord(0, ".")];
        var p = Build(Base + "smtpd_relay_restrictions = reject_unknown_recipient_domain, permit_mynetworks, reject_unauth_destination\n", dns);
        Assert.Equal("450 4.1.2 <u@nx.example>: Recipient address rejected: Domain not found", await Rcpt(p, Ctx(ip: "127.0.0.1", to: "u@nx.example")));
        var permitFirst = Build(Base + "smtpd_relay_restrictions = permit_mynetworks, reject_unknown_recipient_domain, reject_unauth_destination\n", dns);
        Assert.Equal("accept", await Rcpt(permitFirst, Ctx(ip: "127.0.0.1", to: "u@nx.example")));
        var p2 = Build(Base + "smtpd_relay_restrictions = reject_unknown_recipient_domain, permit_mynetworks, reject_unauth_destination\nunknown_address_reject_code = 550\n", dns);
        Assert.Equal("550 5.1.2 <u@nx.example>: Recipient address rejected: Domain not found", await Rcpt(p2, Ctx(ip: "127.0.0.1", to: "u@nx.example")));
        Assert.Equal("556 5.1.10 <u@nomail.example>: Recipient address rejected: Domain nomail.example does not accept mail (nullMX)",
            await Rcpt(p2, Ctx(ip: "127.0.0.1", to: "u@nomail.example")));
    }

    [Fact]
    public async Task HeloHostnameChecks()
    {
        var dns = new FakeDnsResolver();
        dns.WithHost("mail.example.net", "192.0.2.1");
        dns.TempFail.Add("slow.example.net");
        var p = Build(Base + "smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, reject_unknown_helo_hostname\n", dns);
        async Task<string> Helo(string h) => await Rcpt(p, Ctx(helo: h, to: "u@local.example"));
        Assert.Equal("accept", await Helo("mail.example.net"));
        Assert.Equal("accept", await Helo("mail.example.net."));
        Assert.Equal("501 5.5.2 <bad..name>: Helo command rejected: Invalid name", await Helo("bad..name"));
        Assert.Equal("501 5.5.2 <-bad.example>: Helo command rejected: Invalid name", await Helo("-bad.example"));
        Assert.Equal("504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", await Helo("localhost"));
        Assert.Equal("450 4.7.1 <nx.example.net>: Helo command rejected: Host not found", await Helo("nx.example.net"));
        Assert.Equal("450 4.7.1 <slow.example.net>: Helo command rejected: Host not found", await Helo("slow.example.net"));
        Assert.Equal("accept", await Helo("[192.0.2.1]"));
        Assert.Equal("501 5.5.2 <[192.0.2.300]>: Helo command rejected: invalid ip address", await Helo("[192.0.2.300]"));
    }

    [Fact]
    public async Task NonFqdnSenderAndRecipient()
    {
        var p = Build(Base + "smtpd_recipient_restrictions = reject_non_fqdn_sender, reject_non_fqdn_recipient\n");
        Assert.Equal("504 5.5.2 <user@localhost>: Sender address rejected: need fully-qualified address", await Rcpt(p, Ctx(from: "user@localhost", to: "u@local.example")));
        Assert.Equal("504 5.5.2 <u@local>: Recipient address rejected: need fully-qualified address", await Rcpt(p, Ctx(ip: "127.0.0.1", to: "u@local")));
        Assert.Equal("accept", await Rcpt(p, Ctx(from: "", to: "u@local.example")));
        Assert.Equal("accept", await Rcpt(p, Ctx(from: "user@[192.0.2.1]", to: "u@local.example")));
    }

    [Fact]
    public async Task TraceRecordsRestrictionsAndDnsAnswers()
    {
        var dns = new FakeDnsResolver();
        dns.WithHost("1.2.0.192.zen.example", "127.0.0.2");
        var p = Build(Base + "smtpd_client_restrictions = permit_mynetworks, reject_rbl_client zen.example\n", dns);
        var trace = new List<PolicyTraceEntry>();
        await p.CheckRecipientAsync(Ctx(to: "u@local.example"), new(), trace);
        var lines = trace.Select(t => t.ToString()).ToList();
        Assert.Equal("smtpd_client_restrictions: permit_mynetworks -> dunno", lines[0]);
        Assert.Contains(lines, l => l.Contains("dns -> ok (A 1.2.0.192.zen.example: 127.0.0.2)"));
        Assert.Contains(lines, l => l.StartsWith("smtpd_client_restrictions: reject_rbl_client zen.example -> reject 554 5.7.1"));
    }
}
