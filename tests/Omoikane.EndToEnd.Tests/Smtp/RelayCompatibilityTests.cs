using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>
/// Postfix's backwards-compatibility safety net for smtpd_relay_restrictions: a pre-2.10 main.cf (no
/// compatibility_level, no smtpd_relay_restrictions, relay policy in smtpd_recipient_restrictions) keeps its
/// relay policy, with Postfix's log line for each relay the new default would have refused; a file that sets
/// compatibility_level gets the new default; a file without any relay protection still gets 451 4.3.5.
/// </summary>
public sealed class RelayCompatibilityTests
{
    // A 2003 file: a trusted client table in the recipient restrictions, reject_unauth_destination after it.
    private const string OldMainCf = """
        mynetworks = 192.0.2.0/24
        smtpd_recipient_restrictions = permit_mynetworks, check_client_access inline:{127.0.0.2=OK}, reject_unauth_destination
        """;

    private static async Task<string> RcptFromAsync(TestServer server, string source, string rcpt)
    {
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(), IPAddress.Parse(source));
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250", await c.CommandAsync("EHLO client.example.test"));
        Assert.StartsWith("250", await c.CommandAsync("MAIL FROM:<someone@client.example.test>"));
        return await c.CommandAsync($"RCPT TO:<{rcpt}>");
    }

    [Fact]
    public async Task OldFileKeepsItsRelayPolicyAndLogsWhatTheNewDefaultWouldRefuse()
    {
        await using var server = await TestServer.StartAsync(OldMainCf);

        Assert.StartsWith("250 2.1.5", await RcptFromAsync(server, "127.0.0.2", "friend@remote.test"));
        await server.WaitForLogAsync("smtpd", "using backwards-compatible default setting \"smtpd_relay_restrictions = (empty)\" to avoid "
            + "\"Relay access denied\" error for recipient \"friend@remote.test\" from client \"unknown[127.0.0.2]\"");
        Assert.Equal("554 5.7.1 <stranger@remote.test>: Relay access denied", await RcptFromAsync(server, "127.0.0.3", "stranger@remote.test"));
        Assert.StartsWith("250 2.1.5", await RcptFromAsync(server, "127.0.0.3", "postmaster@example.test"));
    }

    [Fact]
    public async Task OldFileWithPopBeforeSmtpInTheRecipientRestrictionsLetsAPop3UserRelay()
    {
        await using var server = await TestServer.StartAsync("""
            mynetworks = 192.0.2.0/24
            smtpd_recipient_restrictions = permit_mynetworks, permit_pop_before_smtp, reject_unauth_destination
            """, "127.0.0.1:25 inet n - n - - smtpd\n127.0.0.1:110 inet n - n - - pop3d\n");
        server.AddUser("alice@example.test", "pw");

        Assert.Equal("554 5.7.1 <friend@remote.test>: Relay access denied", await RcptFromAsync(server, "127.0.0.4", "friend@remote.test"));
        await using (var pop = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:110"), IPAddress.Parse("127.0.0.4")))
        {
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("USER alice@example.test\r\nPASS pw\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("QUIT\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
        }
        Assert.StartsWith("250 2.1.5", await RcptFromAsync(server, "127.0.0.4", "friend@remote.test"));
    }

    [Fact]
    public async Task ACompatibilityLevelOfOneOrMoreUsesTheNewRelayDefault()
    {
        await using var server = await TestServer.StartAsync(OldMainCf + "\ncompatibility_level = 2\n");

        Assert.Equal("554 5.7.1 <friend@remote.test>: Relay access denied", await RcptFromAsync(server, "127.0.0.2", "friend@remote.test"));
    }

    [Fact]
    public async Task LevelZeroWithoutAnyRelayProtectionRefusesToStart()
    {
        // Postfix: "fatal: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of ..."
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync("""
            compatibility_level = 0
            mynetworks = 192.0.2.0/24
            smtpd_recipient_restrictions = permit_mynetworks, check_client_access inline:{127.0.0.2=OK}
            """));
        Assert.Matches(@"main\.cf:\d+: error: the smtpd_relay_restrictions and smtpd_recipient_restrictions parameters both specify a list with no restrictions that reject unauthorized relaying", e.Message);
    }
}
