using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Tests.Dns;

public sealed class DnsResolverOptionsTests
{
    [Theory]
    [InlineData("192.0.2.53", "192.0.2.53", 53)]
    [InlineData("192.0.2.53:5353", "192.0.2.53", 5353)]
    [InlineData("2001:db8::53", "2001:db8::53", 53)]
    [InlineData("[2001:db8::53]", "2001:db8::53", 53)]
    [InlineData("[2001:db8::53]:5300", "2001:db8::53", 5300)]
    [InlineData("[::1]:1053", "::1", 1053)]
    public void ServerSpecsParse(string spec, string address, int port)
    {
        Assert.True(DnsResolverOptions.TryParseServer(spec, out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("dns.example.test")]
    [InlineData("192.0.2")]
    [InlineData("1")]
    [InlineData("192.0.2.53:")]
    [InlineData("192.0.2.53:0")]
    [InlineData("192.0.2.53:70000")]
    [InlineData("[192.0.2.53]:53")]
    [InlineData("[2001:db8::53]53")]
    [InlineData("[2001:db8::53")]
    public void BadServerSpecsAreRefused(string spec)
        => Assert.False(DnsResolverOptions.TryParseServer(spec, out _));

    [Fact]
    public void DefaultsAreTheSystemResolverAndFiveSeconds()
    {
        var options = DnsResolverOptions.FromParameters(Parameters.Defaults());
        Assert.Empty(options.Servers);
        // dns_timeout bounds the whole lookup; its two tries share it.
        Assert.Equal(TimeSpan.FromSeconds(5), options.Deadline);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Timeout);
        Assert.Equal(1, options.Retries);
    }

    [Fact]
    public void ParametersGiveServersAndTimeout()
    {
        var p = Parameters.Defaults().With("dns_servers", "192.0.2.1, [2001:db8::1]:5353 192.0.2.2:54").With("dns_timeout", "2s");
        var options = DnsResolverOptions.FromParameters(p);
        Assert.Equal(new[]
        {
            new IPEndPoint(IPAddress.Parse("192.0.2.1"), 53),
            new IPEndPoint(IPAddress.Parse("2001:db8::1"), 5353),
            new IPEndPoint(IPAddress.Parse("192.0.2.2"), 54),
        }, options.Servers);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Deadline);
        Assert.Equal(TimeSpan.FromSeconds(2) / 6, options.Timeout);   // two tries for each of three servers
    }

    [Fact]
    public void EveryBadServerIsReported()
    {
        var p = Parameters.Defaults().With("dns_servers", "192.0.2.1 bogus 192.0.2.2:x");
        Assert.False(DnsResolverOptions.TryFromParameters(p, out _, out var errors));
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Contains("\"bogus\""));
        Assert.Contains(errors, e => e.Contains("\"192.0.2.2:x\""));
        Assert.Throws<ArgumentException>(() => DnsResolverOptions.FromParameters(p));
    }
}
