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
    public void SuccessClearsTheFailuresOfItsOwnAccount()
    {
        var (t, _) = Make();
        t.RecordFailure(Client, "alice@example.test");
        t.RecordFailure(Client, "alice@example.test");
        t.RecordSuccess(Client, "ALICE@Example.Test");
        Assert.Equal(0, t.Failures(Client));
        Assert.Equal(TimeSpan.Zero, t.RecordFailure(Client, "alice@example.test").Delay);
    }

    [Fact]
    public void SuccessOfOneAccountNeverForgivesGuessesAtAnother()
    {
        var (t, _) = Make();
        for (int i = 1; i <= 5; i++)
        {
            Assert.False(t.RecordFailure(Client, "bob@example.test").Disconnect);
            t.RecordSuccess(Client, "alice@example.test");
            Assert.Equal(i, t.Failures(Client));
        }
        t.RecordFailure(Client, "alice@example.test");
        t.RecordSuccess(Client, "alice@example.test");   // clears alice's one failure, not bob's five
        Assert.Equal(5, t.Failures(Client));
        Assert.True(t.RecordFailure(Client, "bob@example.test").Disconnect);
        Assert.True(t.IsBlocked(Client));
        // Failures without a known account (a malformed exchange) are never cleared by a success.
        var (u, _) = Make();
        u.RecordFailure(Other);
        u.RecordFailure(Other, "");
        u.RecordSuccess(Other, "alice@example.test");
        Assert.Equal(2, u.Failures(Other));
    }

    [Fact]
    public void AccountsBeyondThePerClientBoundStillCountButAreNotForgiven()
    {
        var (t, _) = Make(new AuthThrottleOptions { MaxFailures = 1000, MaxAccountsPerClient = 4 });
        for (int i = 0; i < 10; i++) t.RecordFailure(Client, $"user{i}@example.test");
        Assert.Equal(10, t.Failures(Client));
        t.RecordSuccess(Client, "user9@example.test");   // not tracked apart: nothing to clear
        Assert.Equal(10, t.Failures(Client));
        t.RecordSuccess(Client, "user0@example.test");
        Assert.Equal(9, t.Failures(Client));
    }

    [Fact]
    public void ClientsAreCountedSeparatelyAndIpv6ByNetwork()
    {
        var (t, _) = Make();
        t.RecordFailure(Client);
        Assert.Equal(0, t.Failures(Other));
        t.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        // smtpd_client_ipv6_prefix_length = 84 (Postfix 3.8): one /84 is one client.
        Assert.Equal(2, t.RecordFailure(IPAddress.Parse("2001:db8:1:2:0:fff:ffff:9")).Failures);
        Assert.Equal(0, t.Failures(IPAddress.Parse("2001:db8:1:2:0:1000::1")));
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
    public void Ipv6PrefixLengthIsHonoured()
    {
        var (t, _) = Make(new AuthThrottleOptions { Ipv6PrefixLength = 64 });
        t.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.Equal(1, t.Failures(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        var (u, _) = Make(new AuthThrottleOptions { Ipv6PrefixLength = 128 });
        u.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.Equal(0, u.Failures(IPAddress.Parse("2001:db8:1:2::2")));
    }

    [Fact]
    public void FloodOfNewClientsDoesNotFlushAClientNearItsLimit()
    {
        var (t, time) = Make(new AuthThrottleOptions { MaxClients = 100, MaxFailures = 6 });
        for (int i = 0; i < 5; i++) t.RecordFailure(Client, "bob@example.test");
        for (int i = 0; i < 10000; i++)
        {
            t.RecordFailure(new IPAddress([10, 1, (byte)(i >> 8), (byte)i]), "x@example.test");
            time.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.InRange(t.Count, 1, 100);
        Assert.Equal(5, t.Failures(Client));
        Assert.True(t.RecordFailure(Client, "bob@example.test").Disconnect);
    }

    [Fact]
    public void ConcurrentFailuresAreAllCounted()
    {
        var (t, _) = Make(new AuthThrottleOptions { MaxFailures = 100000 });
        Parallel.For(0, 1000, _ => t.RecordFailure(Client));
        Assert.Equal(1000, t.Failures(Client));
    }
}
