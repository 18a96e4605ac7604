using Omoikane.Mail.Authentication;
using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Authentication.Dmarc;
using Omoikane.Mail.Authentication.Spf;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Authentication;

/// <summary>DMARC over SPF and DKIM results, with records on a loopback DNS server (RFC 7489).</summary>
public sealed class DmarcTests : IAsyncLifetime
{
    private readonly AuthenticationFixture _f = new();

    public Task InitializeAsync()
    {
        // SPF allows 192.0.2.0/24 for sender.example; 198.51.100.1 is a forger.
        _f.Dns.AddTxt("sender.example", "v=spf1 ip4:192.0.2.0/24 -all")
              .AddTxt("sub.sender.example", "v=spf1 ip4:192.0.2.0/24 -all")
              .AddTxt("bounces.other.example", "v=spf1 ip4:198.51.100.0/24 -all");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private const string Forger = "198.51.100.1";

    [Fact]
    public async Task AlignedSpfPasses()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=reject");
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message());
        Assert.Equal(SpfResult.Pass, verdict.Spf!.Result);
        Assert.Equal(DmarcResult.Pass, verdict.Dmarc!.Result);
        Assert.Null(verdict.Reject);
        Assert.Equal("Authentication-Results: mx.example.test;\n\tspf=pass smtp.mailfrom=alice@sender.example;\n\tdkim=none;\n\tdmarc=pass (p=reject dis=none) header.from=sender.example\n", verdict.Prepend);
    }

    [Fact]
    public async Task AlignedDkimPassesWhenSpfFails()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=reject");
        var key = _f.AddKey("sender.example", "mail", DkimKeyType.Rsa);
        var signed = await _f.SignAsync(_f.Authentication([key]), AuthenticationFixture.Message());
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), signed, ip: Forger);
        Assert.Equal(SpfResult.Fail, verdict.Spf!.Result);
        Assert.Equal(DmarcResult.Pass, verdict.Dmarc!.Result);
        Assert.Contains("dkim=pass header.d=sender.example header.s=mail header.a=rsa-sha256", verdict.Prepend);
        Assert.Null(verdict.Reject);
    }

    [Fact]
    public async Task FailureWithPolicyRejectIsRefusedWhenConfigured()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=reject; rua=mailto:d@sender.example");
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message(), ip: Forger);
        Assert.Equal(DmarcResult.Fail, verdict.Dmarc!.Result);
        Assert.Equal(DmarcPolicy.Reject, verdict.Dmarc.Disposition);
        var reject = Assert.IsType<Mail.Smtp.SmtpReply>(verdict.Reject);
        Assert.Equal(550, reject.Code);
        Assert.Equal("5.7.1", reject.Enhanced);

        var marked = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: false), AuthenticationFixture.Message(), ip: Forger);
        Assert.Null(marked.Reject);
        Assert.Contains("dmarc=fail (p=reject dis=reject) header.from=sender.example", marked.Prepend);
        Assert.Contains("spf=fail smtp.mailfrom=alice@sender.example", marked.Prepend);
    }

    [Fact]
    public async Task FailureWithPolicyNoneIsOnlyMarked()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=none");
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message(), ip: Forger);
        Assert.Equal(DmarcResult.Fail, verdict.Dmarc!.Result);
        Assert.Null(verdict.Reject);
        Assert.Contains("dmarc=fail (p=none dis=none)", verdict.Prepend);
    }

    [Fact]
    public async Task UnalignedSpfPassDoesNotCount()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=quarantine");
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(), AuthenticationFixture.Message(), ip: Forger, mailFrom: "b@bounces.other.example");
        Assert.Equal(SpfResult.Pass, verdict.Spf!.Result);
        Assert.Equal(DmarcResult.Fail, verdict.Dmarc!.Result);
        Assert.Equal(DmarcPolicy.Quarantine, verdict.Dmarc.Disposition);
    }

    [Theory]
    [InlineData("v=DMARC1; p=reject", DmarcResult.Pass)]
    [InlineData("v=DMARC1; p=reject; aspf=s", DmarcResult.Fail)]
    public async Task RelaxedAlignmentAcceptsSubdomainsStrictDoesNot(string record, DmarcResult expected)
    {
        _f.Dns.AddTxt("_dmarc.sender.example", record);
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(), AuthenticationFixture.Message(), mailFrom: "b@sub.sender.example");
        Assert.Equal(SpfResult.Pass, verdict.Spf!.Result);
        Assert.Equal(expected, verdict.Dmarc!.Result);
    }

    [Fact]
    public async Task SubdomainUsesOrganizationalRecordAndSubdomainPolicy()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=reject; sp=none");
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message("x@news.sender.example"), ip: Forger);
        Assert.Equal(DmarcResult.Fail, verdict.Dmarc!.Result);
        Assert.Equal("news.sender.example", verdict.Dmarc.FromDomain);
        Assert.Equal(DmarcPolicy.None, verdict.Dmarc.Policy);
        Assert.Null(verdict.Reject);
    }

    [Theory]
    [InlineData(0, DmarcPolicy.Reject)]
    [InlineData(49, DmarcPolicy.Reject)]
    [InlineData(50, DmarcPolicy.Quarantine)]
    [InlineData(99, DmarcPolicy.Quarantine)]
    public async Task PercentSamplesThePolicy(int sample, DmarcPolicy disposition)
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=reject; pct=50");
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true, sample: () => sample), AuthenticationFixture.Message(), ip: Forger);
        Assert.Equal(disposition, verdict.Dmarc!.Disposition);
        Assert.Equal(disposition == DmarcPolicy.Reject, verdict.Reject is not null);
    }

    [Fact]
    public async Task NoRecordIsNone()
    {
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message(), ip: Forger);
        Assert.Equal(DmarcResult.None, verdict.Dmarc!.Result);
        Assert.Null(verdict.Reject);
    }

    [Fact]
    public async Task DnsFailureIsTempErrorNeverReject()
    {
        _f.Dns.AddTxt("_dmarc.sender.example", "v=DMARC1; p=reject").SetBehavior("_dmarc.sender.example", DnsBehavior.ServFail);
        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message(), ip: Forger);
        Assert.Equal(DmarcResult.TempError, verdict.Dmarc!.Result);
        Assert.Null(verdict.Reject);

        // An SPF temperror for the aligned domain must not become a DMARC fail either.
        _f.Dns.SetBehavior("_dmarc.sender.example", DnsBehavior.Answer).SetBehavior("sender.example", DnsBehavior.ServFail);
        verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(dmarcReject: true), AuthenticationFixture.Message(), ip: Forger);
        Assert.Equal(SpfResult.TempError, verdict.Spf!.Result);
        Assert.Equal(DmarcResult.TempError, verdict.Dmarc!.Result);
        Assert.Null(verdict.Reject);
    }

    [Theory]
    [InlineData("example.com", "example.com")]
    [InlineData("mail.example.com", "example.com")]
    [InlineData("a.b.example.co.uk", "example.co.uk")]
    [InlineData("example.co.uk", "example.co.uk")]
    [InlineData("com", "com")]
    public void OrganizationalDomainApproximation(string domain, string expected)
        => Assert.Equal(expected, OrganizationalDomain.Of(domain));

    [Theory]
    [InlineData("v=DMARC1; p=reject; sp=quarantine; pct=20; adkim=s; aspf=r", DmarcPolicy.Reject, DmarcPolicy.Quarantine, 20, true, false)]
    [InlineData("v=DMARC1;p=none", DmarcPolicy.None, null, 100, false, false)]
    [InlineData("v=DMARC1; p=bogus; rua=mailto:x@example.com", DmarcPolicy.None, null, 100, false, false)]
    public void ParsesRecords(string text, DmarcPolicy p, DmarcPolicy? sp, int pct, bool adkim, bool aspf)
        => Assert.Equal(new DmarcRecord(p, sp, pct, adkim, aspf), DmarcRecord.Parse(text));

    [Theory]
    [InlineData("v=DMARC1; p=bogus")]
    [InlineData("p=reject; v=DMARC1")]
    [InlineData("v=spf1 -all")]
    public void IgnoresUnusableRecords(string text) => Assert.Null(DmarcRecord.Parse(text));
}
