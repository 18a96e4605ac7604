using System.Net;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Dns;

/// <summary>Postfix's forward-confirmed client name, over real DNS on loopback.</summary>
public sealed class ClientHostnameResolverTests : IAsyncLifetime
{
    private readonly LoopbackDnsServer _server = LoopbackDnsServer.Start();
    private readonly ClientHostnameResolver _names;

    public ClientHostnameResolverTests() => _names = Names(TimeSpan.FromSeconds(2), retries: 1);

    private ClientHostnameResolver Names(TimeSpan timeout, int retries)
        => new(new DnsResolver(new DnsResolverOptions([_server.EndPoint], timeout, retries)));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ForwardConfirmedNameIsVerified()
    {
        _server.AddPtr("192.0.2.25", "mail.example.test").AddA("mail.example.test", "192.0.2.25");
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.25"));
        Assert.Equal(new ClientHostname(IPAddress.Parse("192.0.2.25"), "mail.example.test", "mail.example.test", HostnameStatus.Ok, HostnameStatus.Ok), name);
        Assert.Equal("mail.example.test[192.0.2.25]", name.NameAndAddress);
    }

    [Fact]
    public async Task ForwardConfirmedIPv6NameIsVerified()
    {
        _server.AddPtr("2001:db8::25", "v6.example.test").AddAaaa("v6.example.test", "2001:db8::25");
        var name = await _names.ResolveAsync(IPAddress.Parse("2001:db8::25"));
        Assert.True(name.IsVerified);
        Assert.Equal("v6.example.test", name.VerifiedName);
    }

    [Fact]
    public async Task MappedIPv4ClientIsLookedUpAsIPv4()
    {
        _server.AddPtr("192.0.2.26", "m.example.test").AddA("m.example.test", "192.0.2.26");
        var name = await _names.ResolveAsync(IPAddress.Parse("::ffff:192.0.2.26"));
        Assert.True(name.IsVerified);
        Assert.Equal(IPAddress.Parse("192.0.2.26"), name.Address);
    }

    [Fact]
    public async Task PtrWithoutMatchingAddressIsNotVerified()
    {
        _server.AddPtr("192.0.2.30", "liar.example.test").AddA("liar.example.test", "192.0.2.31");
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.30"));
        Assert.Equal("liar.example.test", name.ReverseName);
        Assert.Equal("unknown", name.VerifiedName);
        Assert.Equal(HostnameStatus.Ok, name.ReverseStatus);
        Assert.Equal(HostnameStatus.NotFound, name.ForwardStatus);
        Assert.Equal("unknown[192.0.2.30]", name.NameAndAddress);
    }

    [Fact]
    public async Task PtrNameWithoutAddressesIsNotVerified()
    {
        _server.AddPtr("192.0.2.32", "dangling.example.test");
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.32"));
        Assert.Equal("dangling.example.test", name.ReverseName);
        Assert.Equal(HostnameStatus.NotFound, name.ForwardStatus);
    }

    [Fact]
    public async Task MissingPtrIsUnknownAndNotFound()
    {
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.40"));
        Assert.Equal(new ClientHostname(IPAddress.Parse("192.0.2.40"), "unknown", "unknown", HostnameStatus.NotFound, HostnameStatus.NotFound), name);
        Assert.Equal(1, _server.PtrQueryCount("192.0.2.40"));
    }

    [Theory]
    [InlineData(DnsBehavior.ServFail)]
    [InlineData(DnsBehavior.NeverAnswer)]
    public async Task PtrTemporaryFailureIsTempFail(DnsBehavior behavior)
    {
        _server.AddPtr("192.0.2.41", "host.example.test").AddA("host.example.test", "192.0.2.41").SetPtrBehavior("192.0.2.41", behavior);
        var names = behavior == DnsBehavior.NeverAnswer ? Names(TimeSpan.FromMilliseconds(300), retries: 0) : _names;
        var name = await names.ResolveAsync(IPAddress.Parse("192.0.2.41"));
        Assert.Equal("unknown", name.ReverseName);
        Assert.Equal("unknown", name.VerifiedName);
        Assert.Equal(HostnameStatus.TempFail, name.ReverseStatus);
        Assert.Equal(HostnameStatus.TempFail, name.ForwardStatus);
        Assert.Equal(0, _server.QueryCount("host.example.test"));
    }

    [Fact]
    public async Task ForwardTemporaryFailureIsTempFail()
    {
        _server.AddPtr("192.0.2.42", "flaky.example.test").SetBehavior("flaky.example.test", DnsBehavior.ServFail);
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.42"));
        Assert.Equal("flaky.example.test", name.ReverseName);
        Assert.Equal("unknown", name.VerifiedName);
        Assert.Equal(HostnameStatus.Ok, name.ReverseStatus);
        Assert.Equal(HostnameStatus.TempFail, name.ForwardStatus);
    }

    [Fact]
    public async Task AnyOfSeveralPtrNamesMayConfirm()
    {
        _server.AddPtr("192.0.2.50", "a.example.test").AddPtr("192.0.2.50", "b.example.test")
               .AddA("a.example.test", "192.0.2.99").AddA("b.example.test", "192.0.2.50");
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.50"));
        Assert.Equal("b.example.test", name.VerifiedName);
        Assert.Equal(HostnameStatus.Ok, name.ForwardStatus);
    }

    [Theory]
    [InlineData("192.0.2.60")]
    [InlineData("bad name.example.test")]
    [InlineData("-dash.example.test")]
    public async Task PtrThatIsNoHostNameCountsAsMissing(string ptr)
    {
        _server.Add(new ZoneRecord(LoopbackDnsServer.ArpaName(IPAddress.Parse("192.0.2.60")), DnsType.Ptr, 300, Target: ptr));
        var name = await _names.ResolveAsync(IPAddress.Parse("192.0.2.60"));
        Assert.Equal("unknown", name.ReverseName);
        Assert.Equal(HostnameStatus.NotFound, name.ReverseStatus);
    }

    [Fact]
    public async Task LoopbackClientWithoutPtrIsUnknown()
    {
        var name = await _names.ResolveAsync(IPAddress.Loopback);
        Assert.Equal("unknown", name.VerifiedName);
        Assert.Equal(HostnameStatus.NotFound, name.ForwardStatus);
        Assert.Equal(1, _server.PtrQueryCount("127.0.0.1"));
    }

    [Fact]
    public async Task LoopbackClientUsesThePtrTheServerGives()
    {
        _server.AddPtr("::1", "localhost").AddAaaa("localhost", "::1");
        var name = await _names.ResolveAsync(IPAddress.IPv6Loopback);
        Assert.Equal("localhost", name.VerifiedName);
        Assert.True(name.IsVerified);
    }

    [Fact]
    public async Task StaticResolverGivesTheSameResults()
    {
        var resolver = new StaticDnsResolver()
            .AddPtr("192.0.2.70", "ok.example.test").AddAddress("ok.example.test", "192.0.2.70")
            .AddPtr("192.0.2.71", "temp.example.test").SetStatus("temp.example.test", DnsStatus.TempFail)
            .SetPtrStatus("192.0.2.72", DnsStatus.TempFail);
        var names = new ClientHostnameResolver(resolver);
        Assert.True((await names.ResolveAsync(IPAddress.Parse("192.0.2.70"))).IsVerified);
        Assert.Equal(HostnameStatus.TempFail, (await names.ResolveAsync(IPAddress.Parse("192.0.2.71"))).ForwardStatus);
        Assert.Equal(HostnameStatus.TempFail, (await names.ResolveAsync(IPAddress.Parse("192.0.2.72"))).ReverseStatus);
        Assert.Equal(HostnameStatus.NotFound, (await names.ResolveAsync(IPAddress.Parse("192.0.2.73"))).ReverseStatus);
    }
}
