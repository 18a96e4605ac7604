using System.Net;
using Omoikane.Mail.Addressing;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Policy;

/// <summary>reject_unauth_destination against the classic open-relay tricks (Postfix smtpd_check.c permit_auth_destination).</summary>
public class RelayTrickTests
{
    private const string MainCf = """
        myhostname = mx.local.example
        mydestination = $myhostname, local.example
        relay_domains = relayed.example
        mynetworks = 127.0.0.0/8
        """;

    [Theory]
    [InlineData("user@local.example", "accept")]
    [InlineData("user@LOCAL.EXAMPLE", "accept")]
    [InlineData("user@local.example.", "accept")]
    [InlineData("user@mx.local.example", "accept")]
    [InlineData("user@relayed.example", "accept")]
    [InlineData("user@sub.relayed.example", "accept")] // relay_domains matches subdomains by Postfix default
    [InlineData("user@remote.example", "554 5.7.1 <user@remote.example>: Relay access denied")]
    [InlineData("user@local.example.remote.example", "554 5.7.1 <user@local.example.remote.example>: Relay access denied")]
    [InlineData("user%remote.example@local.example", "554 5.7.1 <user%remote.example@local.example>: Relay access denied")]
    [InlineData("user!remote.example@local.example", "554 5.7.1 <user!remote.example@local.example>: Relay access denied")]
    [InlineData("remote.example!user@local.example", "554 5.7.1 <remote.example!user@local.example>: Relay access denied")]
    [InlineData("\"user@remote.example\"@local.example", "554 5.7.1 <\"user@remote.example\"@local.example>: Relay access denied")]
    [InlineData("\"user%remote.example\"@local.example", "554 5.7.1 <user%remote.example@local.example>: Relay access denied")] // quotes not needed: printed as dot-atom
    [InlineData("@local.example:user@remote.example", "554 5.7.1 <user@remote.example>: Relay access denied")]
    [InlineData("@remote.example:user@local.example", "accept")] // the final mailbox decides
    [InlineData("user@[127.0.0.1]", "accept")]
    [InlineData("user@[192.0.2.99]", "554 5.7.1 <user@[192.0.2.99]>: Relay access denied")]
    [InlineData("user@[IPv6:::1]", "accept")]
    public async Task UnauthenticatedClientCannotRelay(string recipient, string expected)
    {
        var policy = Build(MainCf, localAddresses: [IPAddress.Parse("127.0.0.1"), IPAddress.IPv6Loopback]);
        Assert.Equal(expected, await Rcpt(policy, Ctx(to: recipient)));
    }

    [Fact]
    public void ParserRejectsTwoAtSigns()
        => Assert.NotEqual(PathError.None, PathParser.ParseMailbox("user@remote.example@local.example", true, out _));

    [Fact]
    public async Task AddressLiteralIsRemoteWithoutLocalAddresses()
    {
        var policy = Build(MainCf);
        Assert.Equal("554 5.7.1 <user@[127.0.0.1]>: Relay access denied", await Rcpt(policy, Ctx(to: "user@[127.0.0.1]")));
    }

    [Fact]
    public async Task MynetworksAndSaslMayRelay()
    {
        var policy = Build(MainCf);
        Assert.Equal("accept", await Rcpt(policy, Ctx(ip: "127.0.0.2", to: "user@remote.example")));
        Assert.Equal("accept", await Rcpt(policy, Ctx(ip: "::ffff:127.0.0.2", to: "user@remote.example")));
        Assert.Equal("accept", await Rcpt(policy, Ctx(to: "user@remote.example") with { SaslUsername = "alice@local.example" }));
    }

    [Fact]
    public async Task DeferUnauthDestinationUses454()
    {
        var policy = Build(MainCf + "\nsmtpd_relay_restrictions = defer_unauth_destination\n");
        var r = await policy.CheckRecipientAsync(Ctx(to: "user@remote.example"), new());
        Assert.Equal("454 4.7.1 <user@remote.example>: Relay access denied", r.Decision.ToString());
        Assert.Equal(Omoikane.Mail.Policy.PolicyVerdict.Defer, r.Decision.Verdict);
    }

    [Fact]
    public async Task AccessTableOkDoesNotPermitARoutedRecipient()
    {
        var policy = Build(MainCf + """

            smtpd_relay_restrictions = check_recipient_access inline:{local.example=OK}, reject
            """);
        Assert.Equal("accept", await Rcpt(policy, Ctx(to: "user@local.example")));
        Assert.Equal("554 5.7.1 <user%remote.example@local.example>: Recipient address rejected: Access denied",
            await Rcpt(policy, Ctx(to: "user%remote.example@local.example")));
    }
}
