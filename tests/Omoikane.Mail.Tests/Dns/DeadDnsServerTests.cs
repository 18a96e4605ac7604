using System.Diagnostics;
using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Dns;

/// <summary>
/// A name server that is down (nothing listens: ICMP port unreachable) fails a lookup at once, and a
/// silent one (reads, never answers) within dns_timeout; neither is ever "not found".
/// </summary>
public sealed class DeadDnsServerTests
{
    private static DnsResolver FromParameters(string servers, string timeout)
        => DnsResolver.FromParameters(Parameters.Defaults().With("dns_servers", servers).With("dns_timeout", timeout));

    [Fact]
    public async Task UnreachableServerFailsAtOnceAsTempFail()
    {
        var resolver = FromParameters(DeadDnsEndPoints.Refusing().ToString(), "5s");
        var watch = Stopwatch.StartNew();
        var first = await resolver.LookupPtrAsync(IPAddress.Parse("127.0.0.5"));
        var firstTime = watch.Elapsed;
        Assert.Equal(DnsStatus.TempFail, first.Status);
        Assert.True(firstTime < TimeSpan.FromSeconds(2), $"first lookup took {firstTime}");

        // The dead server is remembered: the next lookups do not wait either.
        watch.Restart();
        for (int i = 0; i < 20; i++)
            Assert.Equal(DnsStatus.TempFail, (await resolver.LookupAddressesAsync($"host{i}.example.test")).Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"20 more lookups took {watch.Elapsed}");
    }

    [Fact]
    public async Task SilentServerFailsWithinDnsTimeout()
    {
        using var silent = DeadDnsEndPoints.Silent();
        var resolver = FromParameters(((IPEndPoint)silent.Client.LocalEndPoint!).ToString(), "1s");
        var watch = Stopwatch.StartNew();
        var answer = await resolver.LookupPtrAsync(IPAddress.Parse("127.0.0.6"));
        Assert.Equal(DnsStatus.TempFail, answer.Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task DeadFirstServerIsSkippedForTheLiveOne()
    {
        await using var live = LoopbackDnsServer.Start();
        live.AddA("one.example.test", "192.0.2.1").AddA("two.example.test", "192.0.2.2");
        var resolver = FromParameters($"{DeadDnsEndPoints.Refusing()} {live.DnsServersValue}", "4s");
        Assert.Equal(DnsStatus.Ok, (await resolver.LookupAddressesAsync("one.example.test")).Status);
        var watch = Stopwatch.StartNew();
        Assert.Equal(DnsStatus.Ok, (await resolver.LookupAddressesAsync("two.example.test")).Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}: the dead server was asked again");
    }
}
