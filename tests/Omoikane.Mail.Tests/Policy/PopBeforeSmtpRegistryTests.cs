using System.Net;
using Omoikane.Mail.Policy;

namespace Omoikane.Mail.Tests.Policy;

public class PopBeforeSmtpRegistryTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2025-01-01T00:00:00Z");

    [Fact]
    public void LoginAuthorizesForTheLifetimeOnly()
    {
        var reg = new PopBeforeSmtpRegistry(TimeSpan.FromMinutes(10));
        var ip = IPAddress.Parse("192.0.2.1");
        Assert.False(reg.IsAuthorized(ip, T0));
        reg.Record(ip, T0);
        Assert.True(reg.IsAuthorized(ip, T0.AddMinutes(9)));
        Assert.True(reg.IsAuthorized(IPAddress.Parse("::ffff:192.0.2.1"), T0.AddMinutes(1)));
        Assert.False(reg.IsAuthorized(IPAddress.Parse("192.0.2.2"), T0.AddMinutes(1)));
        Assert.False(reg.IsAuthorized(ip, T0.AddMinutes(10)));
    }

    [Fact]
    public void ExpiredEntriesArePruned()
    {
        var reg = new PopBeforeSmtpRegistry(TimeSpan.FromMinutes(10));
        for (int i = 1; i <= 50; i++) reg.Record(IPAddress.Parse($"192.0.2.{i}"), T0);
        reg.Record(IPAddress.Parse("198.51.100.1"), T0.AddMinutes(30));
        Assert.Equal(1, reg.Count);
    }

    [Fact]
    public async Task ConcurrentRecordsAreSafe()
    {
        var reg = new PopBeforeSmtpRegistry(TimeSpan.FromMinutes(10));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 1000; i++) reg.Record(IPAddress.Parse($"10.{t}.{i / 256}.{i % 256}"), T0.AddSeconds(i % 5));
        })));
        Assert.Equal(8000, reg.Count);
        Assert.True(reg.IsAuthorized(IPAddress.Parse("10.7.3.231"), T0.AddMinutes(1)));
    }
}
