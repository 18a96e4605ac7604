using System.Diagnostics;
using System.Net;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Dns;

/// <summary>The DnsClient-based resolver against a real DNS server on loopback.</summary>
public sealed class DnsResolverTests : IAsyncLifetime
{
    // Answered queries get a patient timeout (a loaded machine must not turn them into failures);
    // tests of unanswered queries use the short one so the suite stays fast.
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan PatientTimeout = TimeSpan.FromSeconds(2);
    private readonly LoopbackDnsServer _server = LoopbackDnsServer.Start();
    private readonly ManualTimeProvider _clock = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private DnsResolver Resolver(int retries = 1, TimeProvider? time = null, TimeSpan? tempFailTtl = null, TimeSpan? timeout = null)
        => new(new DnsResolverOptions([_server.EndPoint], timeout ?? PatientTimeout, retries) { TempFailTtl = tempFailTtl ?? TimeSpan.FromSeconds(2) },
            time ?? _clock);

    [Fact]
    public async Task AddressLookupReturnsARecords()
    {
        _server.AddA("mail.example.test", "192.0.2.10").AddA("mail.example.test", "192.0.2.11");
        var answer = await Resolver().LookupAddressesAsync("mail.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(new[] { IPAddress.Parse("192.0.2.10"), IPAddress.Parse("192.0.2.11") }, answer.Records.OrderBy(a => a.ToString()));
    }

    [Fact]
    public async Task AddressLookupCombinesAAndAaaa()
    {
        _server.AddA("dual.example.test", "192.0.2.1").AddAaaa("dual.example.test", "2001:db8::1");
        var answer = await Resolver().LookupAddressesAsync("dual.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Contains(IPAddress.Parse("192.0.2.1"), answer.Records);
        Assert.Contains(IPAddress.Parse("2001:db8::1"), answer.Records);
        Assert.Equal(1, _server.QueryCount("dual.example.test", DnsType.A));
        Assert.Equal(1, _server.QueryCount("dual.example.test", DnsType.Aaaa));
    }

    [Fact]
    public async Task AddressLookupOfAaaaOnlyNameIsOk()
    {
        _server.AddAaaa("v6only.example.test", "2001:db8::25");
        var answer = await Resolver().LookupAddressesAsync("v6only.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(IPAddress.Parse("2001:db8::25"), Assert.Single(answer.Records));
    }

    [Fact]
    public async Task AddressLookupIsOkWhenAaaaFailsButAHasRecords()
    {
        _server.AddA("half.example.test", "192.0.2.7").SetBehavior("half.example.test", DnsBehavior.ServFail, DnsType.Aaaa);
        var answer = await Resolver().LookupAddressesAsync("half.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(IPAddress.Parse("192.0.2.7"), Assert.Single(answer.Records));
    }

    [Fact]
    public async Task AddressLookupIsTempFailWhenOneTypeFailsAndNoneFound()
    {
        _server.AddMx("nodata.example.test", 10, "mx.example.test")
               .SetBehavior("nodata.example.test", DnsBehavior.ServFail, DnsType.Aaaa);
        var answer = await Resolver().LookupAddressesAsync("nodata.example.test");
        Assert.Equal(DnsStatus.TempFail, answer.Status);
        Assert.False(answer.Found);
    }

    [Fact]
    public async Task CnameIsFollowedToTheAddress()
    {
        _server.AddCname("www.example.test", "host.example.test").AddA("host.example.test", "192.0.2.80");
        var answer = await Resolver().LookupAddressesAsync("www.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(IPAddress.Parse("192.0.2.80"), Assert.Single(answer.Records));
    }

    [Fact]
    public async Task MxRecordsComeSortedByPreference()
    {
        _server.AddMx("example.test", 20, "mx2.example.test").AddMx("example.test", 10, "mx1.example.test");
        var answer = await Resolver().LookupMxAsync("example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(new[] { new MxRecord(10, "mx1.example.test"), new MxRecord(20, "mx2.example.test") }, answer.Records);
        Assert.False(answer.IsNullMx());
    }

    [Fact]
    public async Task NullMxIsDetected()
    {
        _server.AddNullMx("nomail.example.test");
        var answer = await Resolver().LookupMxAsync("nomail.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.True(answer.IsNullMx());
        Assert.True(Assert.Single(answer.Records).IsNullExchange);
    }

    [Fact]
    public async Task RootExchangeAmongRealMxIsNotNullMx()
    {
        _server.AddNullMx("mixed.example.test").AddMx("mixed.example.test", 10, "mx.example.test");
        var answer = await Resolver().LookupMxAsync("mixed.example.test");
        Assert.Equal(2, answer.Records.Count);
        Assert.False(answer.IsNullMx());
    }

    [Fact]
    public async Task TxtRecordJoinsItsCharacterStrings()
    {
        var longText = "v=spf1 " + string.Join(' ', Enumerable.Range(1, 40).Select(i => $"ip4:192.0.2.{i}")) + " -all";
        Assert.True(longText.Length > 255);
        _server.AddTxt("example.test", longText).AddTxt("example.test", "other=1");
        var answer = await Resolver().LookupTxtAsync("example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Contains(longText, answer.Records);
        Assert.Contains("other=1", answer.Records);
    }

    [Fact]
    public async Task PtrLookupOfIPv4Address()
    {
        _server.AddPtr("192.0.2.33", "client.example.test");
        var answer = await Resolver().LookupPtrAsync(IPAddress.Parse("192.0.2.33"));
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal("client.example.test", Assert.Single(answer.Records));
        Assert.Equal(1, _server.QueryCount("33.2.0.192.in-addr.arpa", DnsType.Ptr));
    }

    [Fact]
    public async Task PtrLookupOfIPv6Address()
    {
        _server.AddPtr("2001:db8::5:1", "v6client.example.test");
        var answer = await Resolver().LookupPtrAsync(IPAddress.Parse("2001:db8::5:1"));
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal("v6client.example.test", Assert.Single(answer.Records));
    }

    [Fact]
    public async Task UnknownNameIsNxDomain()
    {
        var answer = await Resolver().LookupMxAsync("nowhere.example.test");
        Assert.Equal(DnsStatus.NxDomain, answer.Status);
        Assert.Equal(1, _server.QueryCount("nowhere.example.test"));
    }

    [Fact]
    public async Task NameWithOtherTypesIsNoData()
    {
        _server.AddA("host.example.test", "192.0.2.1");
        var answer = await Resolver().LookupMxAsync("host.example.test");
        Assert.Equal(DnsStatus.NoData, answer.Status);
    }

    [Fact]
    public async Task ExplicitNoDataIsNoData()
    {
        _server.SetBehavior("empty.example.test", DnsBehavior.NoData);
        Assert.Equal(DnsStatus.NoData, (await Resolver().LookupTxtAsync("empty.example.test")).Status);
    }

    [Theory]
    [InlineData(DnsBehavior.ServFail)]
    [InlineData(DnsBehavior.Refused)]
    public async Task ServerErrorIsTempFailNotNotFound(DnsBehavior behavior)
    {
        _server.AddMx("broken.example.test", 10, "mx.example.test").SetBehavior("broken.example.test", behavior);
        var answer = await Resolver().LookupMxAsync("broken.example.test");
        Assert.Equal(DnsStatus.TempFail, answer.Status);
        Assert.NotNull(answer.Error);
    }

    [Fact]
    public async Task UnansweredQueryTimesOutAsTempFail()
    {
        _server.AddA("slow.example.test", "192.0.2.1").SetBehavior("slow.example.test", DnsBehavior.NeverAnswer);
        var watch = Stopwatch.StartNew();
        var answer = await Resolver(retries: 1, timeout: ShortTimeout).LookupTxtAsync("slow.example.test");
        watch.Stop();
        Assert.Equal(DnsStatus.TempFail, answer.Status);
        // One try plus one retry, each bounded by the 300 ms timeout.
        Assert.Equal(2, _server.QueryCount("slow.example.test"));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task TruncatedUdpAnswerIsRetriedOverTcp()
    {
        _server.AddA("big.example.test", "192.0.2.99").SetBehavior("big.example.test", DnsBehavior.TruncateOverUdp);
        var answer = await Resolver().LookupTxtAsync("big.example.test");
        Assert.Equal(DnsStatus.NoData, answer.Status);
        var addresses = await Resolver().LookupAddressesAsync("big.example.test");
        Assert.Equal(DnsStatus.Ok, addresses.Status);
        Assert.Equal(IPAddress.Parse("192.0.2.99"), Assert.Single(addresses.Records));
        Assert.True(_server.UdpQueryCount >= 1);
        Assert.True(_server.TcpQueryCount >= 1);
    }

    [Fact]
    public async Task SecondLookupIsAnsweredFromCache()
    {
        _server.AddMx("cached.example.test", 10, "mx.example.test");
        var resolver = Resolver();
        var first = await resolver.LookupMxAsync("cached.example.test");
        var second = await resolver.LookupMxAsync("CACHED.example.test.");
        Assert.Equal(first.Records, second.Records);
        Assert.Equal(1, _server.QueryCount("cached.example.test"));
    }

    [Fact]
    public async Task CachedAnswerExpiresWithItsTtl()
    {
        _server.AddA("ttl.example.test", "192.0.2.1", ttl: 30);
        var resolver = Resolver();
        await resolver.LookupAddressesAsync("ttl.example.test");
        _clock.Advance(TimeSpan.FromSeconds(29));
        await resolver.LookupAddressesAsync("ttl.example.test");
        Assert.Equal(1, _server.QueryCount("ttl.example.test", DnsType.A));

        _server.Remove("ttl.example.test").AddA("ttl.example.test", "192.0.2.2", ttl: 30);
        _clock.Advance(TimeSpan.FromSeconds(2));
        var renewed = await resolver.LookupAddressesAsync("ttl.example.test");
        Assert.Equal(2, _server.QueryCount("ttl.example.test", DnsType.A));
        Assert.Equal(IPAddress.Parse("192.0.2.2"), Assert.Single(renewed.Records));
    }

    [Fact]
    public async Task CachedAnswerExpiresOnTheRealClock()
    {
        _server.AddTxt("short.example.test", "one", ttl: 1);
        var resolver = Resolver(time: TimeProvider.System);
        await resolver.LookupTxtAsync("short.example.test");
        await resolver.LookupTxtAsync("short.example.test");
        Assert.Equal(1, _server.QueryCount("short.example.test"));
        var deadline = Stopwatch.StartNew();
        while (_server.QueryCount("short.example.test") < 2 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(100);
            await resolver.LookupTxtAsync("short.example.test");
        }
        Assert.Equal(2, _server.QueryCount("short.example.test"));
        Assert.InRange(deadline.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ZeroTtlIsNeverCached()
    {
        _server.AddTxt("zero.example.test", "x", ttl: 0);
        var resolver = Resolver();
        await resolver.LookupTxtAsync("zero.example.test");
        await resolver.LookupTxtAsync("zero.example.test");
        Assert.Equal(2, _server.QueryCount("zero.example.test"));
    }

    [Fact]
    public async Task NegativeAnswerIsCachedForTheSoaMinimum()
    {
        _server.NegativeTtl = 10;
        var resolver = Resolver();
        Assert.Equal(DnsStatus.NxDomain, (await resolver.LookupMxAsync("gone.example.test")).Status);
        _server.AddMx("gone.example.test", 10, "mx.example.test");
        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(DnsStatus.NxDomain, (await resolver.LookupMxAsync("gone.example.test")).Status);
        Assert.Equal(1, _server.QueryCount("gone.example.test"));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(DnsStatus.Ok, (await resolver.LookupMxAsync("gone.example.test")).Status);
        Assert.Equal(2, _server.QueryCount("gone.example.test"));
    }

    [Fact]
    public async Task NegativeAnswerWithoutSoaIsCachedForTheDefault()
    {
        _server.NegativeTtl = null;
        var resolver = Resolver();
        await resolver.LookupTxtAsync("nosoa.example.test");
        _clock.Advance(TimeSpan.FromSeconds(59));
        await resolver.LookupTxtAsync("nosoa.example.test");
        Assert.Equal(1, _server.QueryCount("nosoa.example.test"));
        _clock.Advance(TimeSpan.FromSeconds(2));
        await resolver.LookupTxtAsync("nosoa.example.test");
        Assert.Equal(2, _server.QueryCount("nosoa.example.test"));
    }

    [Fact]
    public async Task TempFailIsRememberedOnlyBriefly()
    {
        _server.AddMx("flaky.example.test", 10, "mx.example.test").SetBehavior("flaky.example.test", DnsBehavior.ServFail);
        var resolver = Resolver(tempFailTtl: TimeSpan.FromSeconds(2));
        Assert.Equal(DnsStatus.TempFail, (await resolver.LookupMxAsync("flaky.example.test")).Status);
        int asked = _server.QueryCount("flaky.example.test"); // DnsClient may retry a SERVFAIL
        Assert.InRange(asked, 1, 2);
        Assert.Equal(DnsStatus.TempFail, (await resolver.LookupMxAsync("flaky.example.test")).Status);
        Assert.Equal(asked, _server.QueryCount("flaky.example.test"));

        _server.SetBehavior("flaky.example.test", DnsBehavior.Answer);
        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(DnsStatus.Ok, (await resolver.LookupMxAsync("flaky.example.test")).Status);
        Assert.Equal(asked + 1, _server.QueryCount("flaky.example.test"));
    }

    [Fact]
    public async Task ConcurrentIdenticalLookupsShareOneServerQuery()
    {
        _server.SetBehavior("busy.example.test", DnsBehavior.NeverAnswer);
        var resolver = Resolver(retries: 0, tempFailTtl: TimeSpan.Zero, timeout: ShortTimeout);
        var lookups = Enumerable.Range(0, 5).Select(_ => resolver.LookupTxtAsync("busy.example.test").AsTask()).ToArray();
        var answers = await Task.WhenAll(lookups).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(answers, a => Assert.Equal(DnsStatus.TempFail, a.Status));
        Assert.Equal(1, _server.QueryCount("busy.example.test"));
    }

    [Fact]
    public async Task CallerCancellationEndsTheWait()
    {
        _server.SetBehavior("hang.example.test", DnsBehavior.NeverAnswer);
        var resolver = new DnsResolver(new DnsResolverOptions([_server.EndPoint], TimeSpan.FromSeconds(5), 0), _clock);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolver.LookupTxtAsync("hang.example.test", cts.Token).AsTask());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a..b")]
    [InlineData("has space.example.test")]
    public async Task InvalidNameIsNotFoundWithoutAQuery(string name)
    {
        var answer = await Resolver().LookupAddressesAsync(name);
        Assert.Equal(DnsStatus.NxDomain, answer.Status);
        Assert.Equal(0, _server.UdpQueryCount + _server.TcpQueryCount);
    }

    [Fact]
    public async Task LabelLongerThan63OctetsIsNotFound()
    {
        var answer = await Resolver().LookupMxAsync(new string('a', 64) + ".example.test");
        Assert.Equal(DnsStatus.NxDomain, answer.Status);
        Assert.Equal(0, _server.UdpQueryCount);
    }

    [Fact]
    public async Task ServerOnIPv6LoopbackIsReachable()
    {
        await using var server6 = LoopbackDnsServer.Start(IPAddress.IPv6Loopback);
        server6.AddA("six.example.test", "192.0.2.6");
        var options = new DnsResolverOptions([server6.EndPoint], PatientTimeout, 1);
        var answer = await new DnsResolver(options).LookupAddressesAsync("six.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
    }

    [Theory]
    [InlineData(DnsBehavior.ServFail)]
    [InlineData(DnsBehavior.NeverAnswer)]
    public async Task AnotherServerIsAskedWhenOneFails(DnsBehavior failure)
    {
        await using var broken = LoopbackDnsServer.Start();
        broken.SetBehavior("fallback.example.test", failure);
        _server.AddMx("fallback.example.test", 10, "mx.example.test");
        var options = new DnsResolverOptions([broken.EndPoint, _server.EndPoint], ShortTimeout, 0);
        var answer = await new DnsResolver(options, _clock).LookupMxAsync("fallback.example.test");
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(1, broken.QueryCount("fallback.example.test")); // servers are tried in the configured order
        Assert.Equal(1, _server.QueryCount("fallback.example.test"));
    }

    [Fact]
    public async Task ResolverFromParametersUsesDnsServers()
    {
        _server.AddA("param.example.test", "192.0.2.44");
        var parameters = Config.Parameters.Defaults().With("dns_servers", _server.DnsServersValue).With("dns_timeout", "1s");
        var resolver = DnsResolver.FromParameters(parameters);
        Assert.Equal(TimeSpan.FromSeconds(1), resolver.Options.Deadline);
        Assert.Equal(_server.EndPoint, Assert.Single(resolver.NameServers));
        Assert.Equal(DnsStatus.Ok, (await resolver.LookupAddressesAsync("param.example.test")).Status);
    }
}
