using Omoikane.Mail.Dns;
using Omoikane.TestSupport;

namespace Omoikane.Mail.Tests.Dns;

public sealed class DnsCacheTests
{
    [Fact]
    public void SizeStaysBoundedAndTheLongestLivedEntriesSurvive()
    {
        var clock = new ManualTimeProvider();
        var cache = new DnsCache(clock, maxEntries: 10);
        for (int i = 1; i <= 25; i++)
            cache.Set(($"n{i}.example.test", 1), i, TimeSpan.FromSeconds(100 + i));
        Assert.InRange(cache.Count, 1, 10);
        Assert.True(cache.TryGet(("n25.example.test", 1), out var kept));
        Assert.Equal(25, kept);
        Assert.False(cache.TryGet(("n1.example.test", 1), out _));
    }

    [Fact]
    public void ExpiredEntriesAreNotReturned()
    {
        var clock = new ManualTimeProvider();
        var cache = new DnsCache(clock, maxEntries: 10);
        cache.Set(("a.example.test", 1), "x", TimeSpan.FromSeconds(5));
        clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.True(cache.TryGet(("a.example.test", 1), out _));
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(cache.TryGet(("a.example.test", 1), out _));
        Assert.Equal(0, cache.Count);
    }
}
