using System.Net;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class AuthRateLimiterTests
{
    private static readonly IPAddress Client = IPAddress.Parse("198.51.100.1");

    [Fact]
    public void ZeroMeansNoLimit()
    {
        var limiter = new AuthRateLimiter(0, TimeSpan.FromSeconds(60), new ManualTimeProvider());
        Assert.False(limiter.Enabled);
        for (int i = 0; i < 1000; i++) Assert.True(limiter.TryAcquire(Client));
        Assert.Equal(0, limiter.Count);
    }

    [Fact]
    public void LimitsPerClientPerTimeUnit()
    {
        var time = new ManualTimeProvider();
        var limiter = new AuthRateLimiter(3, TimeSpan.FromSeconds(60), time);
        Assert.True(limiter.TryAcquire(Client));
        Assert.True(limiter.TryAcquire(Client));
        Assert.True(limiter.TryAcquire(Client));
        Assert.False(limiter.TryAcquire(Client));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("198.51.100.2")));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(limiter.TryAcquire(Client));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAcquire(Client));
    }

    [Fact]
    public void MemoryStaysBounded()
    {
        var time = new ManualTimeProvider();
        var limiter = new AuthRateLimiter(1, TimeSpan.FromSeconds(60), time, maxClients: 50);
        for (int i = 0; i < 500; i++) limiter.TryAcquire(new IPAddress([10, 1, (byte)(i >> 8), (byte)i]));
        Assert.InRange(limiter.Count, 1, 50);
    }

    [Fact]
    public void FloodOfNewClientsDoesNotResetABusyClientsWindow()
    {
        var time = new ManualTimeProvider();
        var limiter = new AuthRateLimiter(3, TimeSpan.FromSeconds(60), time, maxClients: 50);
        for (int i = 0; i < 3; i++) Assert.True(limiter.TryAcquire(Client));
        for (int i = 0; i < 5000; i++) limiter.TryAcquire(new IPAddress([10, 2, (byte)(i >> 8), (byte)i]));
        Assert.InRange(limiter.Count, 1, 50);
        Assert.False(limiter.TryAcquire(Client));
    }

    [Fact]
    public void Ipv6ClientsAreCountedByTheirPrefix()
    {
        var limiter = new AuthRateLimiter(1, TimeSpan.FromSeconds(60), new ManualTimeProvider(), ipv6PrefixLength: 84);
        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8::1")));
        Assert.False(limiter.TryAcquire(IPAddress.Parse("2001:db8::fff:1234:5678")));   // same /84
        Assert.True(limiter.TryAcquire(IPAddress.Parse("2001:db8:0:0:1::1")));          // another /84
    }

    [Fact]
    public void ConcurrentAcquiresNeverExceedTheLimit()
    {
        var limiter = new AuthRateLimiter(10, TimeSpan.FromSeconds(60), new ManualTimeProvider());
        int granted = 0;
        Parallel.For(0, 1000, _ => { if (limiter.TryAcquire(Client)) Interlocked.Increment(ref granted); });
        Assert.Equal(10, granted);
    }
}
