using System.Net;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class AuthThrottleTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress Other = IPAddress.Parse("192.0.2.8");

    private static (AuthThrottle, ManualTimeProvider) Make(AuthThrottleOptions? options = null)
    {
        var time = new ManualTimeProvider();
        return (new AuthThrottle(options ?? new AuthThrottleOptions { MaxFailures = 6, MaxDelay = TimeSpan.FromSeconds(5) }, time), time);
    }

    [Fact]
    public void DelayGrowsAndIsCapped()
    {
        var (t, _) = Make();
        var delays = Enumerable.Range(0, 6).Select(_ => t.RecordFailure(Client).Delay.TotalSeconds).ToArray();
        Assert.Equal([0, 1, 2, 4, 5, 5], delays);
    }

    [Fact]
    public void DropsTheClientAtTheLimitAndBlocksItUntilTheWindowPasses()
    {
        var (t, time) = Make();
        for (int i = 1; i < 6; i++) Assert.False(t.RecordFailure(Client).Disconnect);
        Assert.False(t.IsBlocked(Client));
        Assert.True(t.RecordFailure(Client).Disconnect);
        Assert.True(t.IsBlocked(Client));
        Assert.False(t.IsBlocked(Other));
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.False(t.IsBlocked(Client));
        Assert.Equal(0, t.Failures(Client));
        Assert.Equal(TimeSpan.Zero, t.RecordFailure(Client).Delay);
    }

    [Fact]
    public void FailuresInsideTheWindowAccumulate()
    {
        var (t, time) = Make();
        t.RecordFailure(Client);
        time.Advance(TimeSpan.FromMinutes(9));
        var v = t.RecordFailure(Client);
        Assert.Equal(2, v.Failures);
        Assert.Equal(TimeSpan.FromSeconds(1), v.Delay);
    }

    [Fact]
    public void SuccessClearsTheRecord()
    {
        var (t, _) = Make();
        t.RecordFailure(Client);
        t.RecordFailure(Client);
        t.RecordSuccess(Client);
        Assert.Equal(0, t.Failures(Client));
        Assert.Equal(TimeSpan.Zero, t.RecordFailure(Client).Delay);
    }

    [Fact]
    public void ClientsAreCountedSeparatelyAndIpv6ByNetwork()
    {
        var (t, _) = Make();
        t.RecordFailure(Client);
        Assert.Equal(0, t.Failures(Other));
        t.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.Equal(2, t.RecordFailure(IPAddress.Parse("2001:db8:1:2:ffff::9")).Failures);
        Assert.Equal(0, t.Failures(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal(2, t.RecordFailure(IPAddress.Parse("::ffff:192.0.2.7")).Failures);   // mapped IPv4 is the IPv4 client
    }

    [Fact]
    public void MemoryStaysBounded()
    {
        var (t, time) = Make(new AuthThrottleOptions { MaxClients = 100 });
        for (int i = 0; i < 1000; i++)
        {
            t.RecordFailure(new IPAddress([10, 0, (byte)(i >> 8), (byte)i]));
            time.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.InRange(t.Count, 1, 100);
        // The most recent client is still remembered.
        Assert.Equal(1, t.Failures(new IPAddress([10, 0, 3, 231])));
    }

    [Fact]
    public void ConcurrentFailuresAreAllCounted()
    {
        var (t, _) = Make(new AuthThrottleOptions { MaxFailures = 100000 });
        Parallel.For(0, 1000, _ => t.RecordFailure(Client));
        Assert.Equal(1000, t.Failures(Client));
    }
}
