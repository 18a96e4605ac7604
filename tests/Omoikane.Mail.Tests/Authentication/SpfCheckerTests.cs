using System.Net;
using Omoikane.Mail.Authentication.Spf;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Authentication;

/// <summary>check_host() against a real DNS server on loopback (RFC 7208).</summary>
public sealed class SpfCheckerTests : IAsyncLifetime
{
    private readonly LoopbackDnsServer _dns = LoopbackDnsServer.Start();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dns.DisposeAsync();

    private SpfChecker Checker()
        => new(new DnsResolver(new DnsResolverOptions([_dns.EndPoint], TimeSpan.FromSeconds(2), 1) { TempFailTtl = TimeSpan.Zero }, new ManualTimeProvider()), "mx.example.test");

    private Task<SpfOutcome> CheckAsync(string ip, string mailFrom = "alice@sender.example", string helo = "client.sender.example")
        => Checker().CheckAsync(IPAddress.Parse(ip), mailFrom, helo).AsTask();

    [Theory]
    [InlineData("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.10", SpfResult.Pass)]
    [InlineData("v=spf1 ip4:192.0.2.0/24 -all", "198.51.100.1", SpfResult.Fail)]
    [InlineData("v=spf1 ip4:192.0.2.0/24 ~all", "198.51.100.1", SpfResult.SoftFail)]
    [InlineData("v=spf1 ip4:192.0.2.0/24 ?all", "198.51.100.1", SpfResult.Neutral)]
    [InlineData("v=spf1 ip4:192.0.2.0/24", "198.51.100.1", SpfResult.Neutral)]
    [InlineData("v=spf1 -ip4:192.0.2.10 +all", "192.0.2.10", SpfResult.Fail)]
    [InlineData("v=spf1 ip6:2001:db8::/32 -all", "2001:db8::25", SpfResult.Pass)]
    [InlineData("v=spf1 ip6:2001:db8::/32 -all", "192.0.2.10", SpfResult.Fail)]
    [InlineData("v=spf1 ip4:192.0.2.10 -all", "::ffff:192.0.2.10", SpfResult.Pass)]
    [InlineData("v=spf1 a -all", "192.0.2.20", SpfResult.Pass)]
    [InlineData("v=spf1 a/24 -all", "192.0.2.99", SpfResult.Pass)]
    [InlineData("v=spf1 a -all", "192.0.2.99", SpfResult.Fail)]
    [InlineData("v=spf1 mx -all", "192.0.2.30", SpfResult.Pass)]
    [InlineData("v=spf1 mx:other.example -all", "198.51.100.30", SpfResult.Pass)]
    [InlineData("v=spf1 include:_spf.provider.example -all", "203.0.113.5", SpfResult.Pass)]
    [InlineData("v=spf1 include:_spf.provider.example -all", "203.0.114.5", SpfResult.Fail)]
    [InlineData("v=spf1 redirect=_spf.provider.example", "203.0.113.5", SpfResult.Pass)]
    [InlineData("v=spf1 redirect=_spf.provider.example", "198.51.100.1", SpfResult.SoftFail)]
    [InlineData("v=spf1 exists:%{ir}.allow.sender.example -all", "192.0.2.77", SpfResult.Pass)]
    [InlineData("v=spf1 exists:%{ir}.allow.sender.example -all", "192.0.2.78", SpfResult.Fail)]
    [InlineData("v=spf1 ptr -all", "192.0.2.40", SpfResult.Pass)]
    [InlineData("v=spf1 ptr -all", "192.0.2.41", SpfResult.Fail)]
    public async Task EvaluatesMechanisms(string record, string ip, SpfResult expected)
    {
        _dns.AddTxt("sender.example", record)
            .AddA("sender.example", "192.0.2.20")
            .AddMx("sender.example", 10, "mx1.sender.example").AddA("mx1.sender.example", "192.0.2.30")
            .AddMx("other.example", 10, "mx.other.example").AddA("mx.other.example", "198.51.100.30")
            .AddTxt("_spf.provider.example", "v=spf1 ip4:203.0.113.0/24 ~all")
            .AddA("77.2.0.192.allow.sender.example", "127.0.0.2")
            .AddPtr("192.0.2.40", "host40.sender.example").AddA("host40.sender.example", "192.0.2.40")
            .AddPtr("192.0.2.41", "host41.elsewhere.example").AddA("host41.elsewhere.example", "192.0.2.41");
        var outcome = await CheckAsync(ip);
        Assert.Equal(expected, outcome.Result);
        Assert.Equal("sender.example", outcome.Domain);
    }

    [Fact]
    public async Task DomainWithoutRecordIsNone()
    {
        _dns.AddTxt("sender.example", "some other text");
        Assert.Equal(SpfResult.None, (await CheckAsync("192.0.2.1")).Result);
        Assert.Equal(SpfResult.None, (await CheckAsync("192.0.2.1", "bob@nxdomain.example")).Result);
    }

    [Fact]
    public async Task ServerFailureIsTempErrorNeverFail()
    {
        _dns.AddTxt("sender.example", "v=spf1 -all").SetBehavior("sender.example", DnsBehavior.ServFail);
        Assert.Equal(SpfResult.TempError, (await CheckAsync("192.0.2.1")).Result);
    }

    [Fact]
    public async Task ServerFailureInsideIncludeIsTempError()
    {
        _dns.AddTxt("sender.example", "v=spf1 include:_spf.provider.example -all")
            .AddTxt("_spf.provider.example", "v=spf1 ip4:203.0.113.0/24 -all")
            .SetBehavior("_spf.provider.example", DnsBehavior.ServFail);
        Assert.Equal(SpfResult.TempError, (await CheckAsync("192.0.2.1")).Result);
    }

    [Theory]
    [InlineData("v=spf1 foo:bar -all")]
    [InlineData("v=spf1 ip4:192.0.2.300 -all")]
    [InlineData("v=spf1 ip4:192.0.2.0/33 -all")]
    [InlineData("v=spf1 include -all")]
    [InlineData("v=spf1 redirect=a.example redirect=b.example")]
    [InlineData("v=spf1 include:%{q}.example -all")]
    [InlineData("v=spf1 include:nospf.example -all")]
    [InlineData("v=spf1 redirect=nospf.example")]
    public async Task SyntaxAndReferenceErrorsArePermError(string record)
    {
        _dns.AddTxt("sender.example", record).AddTxt("nospf.example", "not spf");
        var outcome = await CheckAsync("192.0.2.1");
        Assert.Equal(SpfResult.PermError, outcome.Result);
    }

    [Fact]
    public async Task TwoRecordsArePermError()
    {
        _dns.AddTxt("sender.example", "v=spf1 -all").AddTxt("sender.example", "v=spf1 +all");
        Assert.Equal(SpfResult.PermError, (await CheckAsync("192.0.2.1")).Result);
    }

    [Fact]
    public async Task EleventhDnsLookupIsPermError()
    {
        // A chain of includes: l0 includes l1 ... each include is one lookup; ten are allowed (RFC 7208 §4.6.4).
        for (int i = 0; i < 12; i++) _dns.AddTxt($"l{i}.chain.example", $"v=spf1 include:l{i + 1}.chain.example -all");
        _dns.AddTxt("l12.chain.example", "v=spf1 +all");
        _dns.AddTxt("sender.example", "v=spf1 include:l2.chain.example -all");
        Assert.Equal(SpfResult.PermError, (await CheckAsync("192.0.2.1")).Result); // 11 includes: l2..l12
        _dns.Remove("sender.example").AddTxt("sender.example", "v=spf1 include:l3.chain.example -all");
        Assert.Equal(SpfResult.Pass, (await CheckAsync("192.0.2.1", "bob@sender.example")).Result); // 10 includes: l3..l12
    }

    [Fact]
    public async Task ThirdVoidLookupIsPermError()
    {
        _dns.AddTxt("sender.example", "v=spf1 a:v1.sender.example a:v2.sender.example a:v3.sender.example +all");
        Assert.Equal(SpfResult.PermError, (await CheckAsync("192.0.2.1")).Result);
        _dns.Remove("sender.example").AddTxt("sender.example", "v=spf1 a:v1.sender.example a:v2.sender.example +all");
        Assert.Equal(SpfResult.Pass, (await CheckAsync("192.0.2.1", "carol@sender.example")).Result);
    }

    [Fact]
    public async Task NullSenderIsCheckedAsPostmasterAtHelo()
    {
        _dns.AddTxt("client.sender.example", "v=spf1 ip4:192.0.2.5 -all");
        var outcome = await CheckAsync("192.0.2.5", mailFrom: "");
        Assert.Equal(SpfResult.Pass, outcome.Result);
        Assert.True(outcome.FromHelo);
        Assert.Equal("postmaster@client.sender.example", outcome.Identity);
    }

    [Fact]
    public async Task LocalPartMacroSelectsPerUserRecord()
    {
        _dns.AddTxt("sender.example", "v=spf1 exists:%{l}.users.sender.example -all").AddA("alice.users.sender.example", "127.0.0.2");
        Assert.Equal(SpfResult.Pass, (await CheckAsync("192.0.2.1", "alice@sender.example")).Result);
        Assert.Equal(SpfResult.Fail, (await CheckAsync("192.0.2.1", "mallory@sender.example")).Result);
    }
}
