using MailKit.Net.Pop3;
using MailKit.Security;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>
/// Address identity and backscatter over real sessions: every spelling of an address meets the same
/// access-table entry and the same mailbox; what would bounce is refused at RCPT; an own address
/// literal is delivered locally.
/// </summary>
public sealed class AddressIdentityTests
{
    private const string Kelvin = "\u212Aate@example.test";   // U+212A KELVIN SIGN, then "ate"

    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:110 inet n - n - - pop3d
        """;

    private static async Task<RawSmtpClient> OpenAsync(TestServer server, string from = "bob@remote.example", bool utf8 = true)
    {
        var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250 ", await c.CommandAsync("EHLO client.example"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync($"MAIL FROM:<{from}>{(utf8 ? " SMTPUTF8" : "")}"));
        return c;
    }

    private static async Task DataAsync(RawSmtpClient c, string subject)
    {
        Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.CommandAsync($"Subject: {subject}\r\n\r\nbody\r\n."));
    }

    private static string Log(TestServer server)
    {
        using var fs = new FileStream(server.MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(fs).ReadToEnd();
    }

    [Fact]
    public async Task AccessTableRejectingKateAlsoRejectsKelvinSignSpelling()
    {
        await using var server = await TestServer.StartAsync("smtpd_recipient_restrictions = check_recipient_access inline:{kate@example.test=REJECT}");
        server.AddUser("kate@example.test", "pw");
        await using var c = await OpenAsync(server);
        Assert.Equal("554 5.7.1 <kate@example.test>: Recipient address rejected: Access denied", await c.CommandAsync("RCPT TO:<kate@example.test>"));
        Assert.StartsWith("554 5.7.1 <", await c.CommandAsync($"RCPT TO:<{Kelvin}>"));
        Assert.StartsWith("554 5.7.1 <", await c.CommandAsync("RCPT TO:<\uFF4B\uFF41\uFF54\uFF45@example.test>"));   // fullwidth
        Assert.StartsWith("554 5.7.1 <", await c.CommandAsync("RCPT TO:<KATE@EXAMPLE.TEST>"));
        Assert.Equal("554 5.5.1 Error: no valid recipients", await c.CommandAsync("DATA"));
        Assert.False(Directory.Exists(server.MaildirNew("example.test", "kate")) && Directory.GetFiles(server.MaildirNew("example.test", "kate")).Length > 0);
    }

    [Fact]
    public async Task KelvinSignSpellingLandsInKatesOneMailboxAndPop3ShowsIt()
    {
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("kate@example.test", "pw");
        await using (var c = await OpenAsync(server))
        {
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync($"RCPT TO:<{Kelvin}>"));
            await DataAsync(c, "kelvin");
        }
        Assert.Single(await server.WaitForMailAsync("example.test", "kate"));
        Assert.Equal(["kate"], Directory.GetDirectories(Path.Combine(server.Host.Config.MailboxBase, "example.test")).Select(Path.GetFileName));
        using var pop = new Pop3Client();
        await pop.ConnectAsync("127.0.0.1", server.Port("127.0.0.1:110"), SecureSocketOptions.None);
        await pop.AuthenticateAsync("KATE@example.test", "pw");
        Assert.Equal(1, pop.Count);
        await pop.DisconnectAsync(true);
    }

    [Fact]
    public async Task PostmasterAtOwnAddressLiteralIsDeliveredLocallyNotRelayed()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.1/32");
        server.AddUser("alice@example.test", "pw");
        await using (var c = await OpenAsync(server, utf8: false))
        {
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<postmaster@[127.0.0.1]>"));
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<alice@[127.0.0.1]>"));
            Assert.Equal("550 5.1.1 <nobody@[127.0.0.1]>: Recipient address rejected: User unknown in local recipient table",
                await c.CommandAsync("RCPT TO:<nobody@[127.0.0.1]>"));
            await DataAsync(c, "literal");
        }
        // No postmaster user or alias: postmaster is still deliverable, into the Maildir of postmaster at the first local domain.
        Assert.Single(await server.WaitForMailAsync("example.test", "postmaster"));
        Assert.Single(await server.WaitForMailAsync("example.test", "alice"));
        await server.WaitForLogAsync("to=<postmaster@example.test>", "orig_to=<postmaster@[127.0.0.1]>", "relay=local", "status=sent");
        await server.WaitForLogAsync(": removed");
        Assert.DoesNotContain("status=bounced", Log(server));
        Assert.DoesNotContain("status=deferred", Log(server));
        Assert.Empty(server.Host.Spool.ListIds());
    }

    [Fact]
    public async Task AliasesThatExpandToNothingDeliverableAreRefusedAtRcpt()
    {
        await using var server = await TestServer.StartAsync("alias_maps = hash:$config_directory/aliases",
            prepare: dir => File.WriteAllText(Path.Combine(dir, "aliases"),
                "ghost: nobody\nloop1: loop2\nloop2: loop1\npiped: :include:/nonexistent/list\nteam: alice, ghost\npostmaster: root\n"));
        server.AddUser("alice@example.test", "pw");
        await using (var c = await OpenAsync(server, from: "forged@victim.example", utf8: false))
        {
            foreach (var name in new[] { "ghost", "loop1", "piped" })
                Assert.Equal($"550 5.1.1 <{name}@example.test>: Recipient address rejected: User unknown in local recipient table",
                    await c.CommandAsync($"RCPT TO:<{name}@example.test>"));
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<team@example.test>"));
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<postmaster@example.test>"));   // "postmaster: root", no user root
            await DataAsync(c, "aliases");
        }
        Assert.Single(await server.WaitForMailAsync("example.test", "alice"));
        Assert.Single(await server.WaitForMailAsync("example.test", "postmaster"));
        await server.WaitForLogAsync(": removed");
        await server.WaitForLogAsync("warning: ", "alias <team@example.test>: member not delivered: <nobody@example.test>: unknown user");
        Assert.DoesNotContain("status=bounced", Log(server));
        Assert.DoesNotContain("to=<forged@victim.example>", Log(server));
        Assert.Empty(server.Host.Spool.ListIds());
    }

    [Fact]
    public async Task AfterAReloadDeliveryTakesTheNewMydestinationAsRcptDoes()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "pw");
        var mainCf = Path.Combine(server.Directory, "main.cf");
        File.WriteAllText(mainCf, File.ReadAllText(mainCf).Replace("mydestination = example.test, localhost", "mydestination = example.test, localhost, other.test"));
        Assert.True(server.Host.Reload());
        await using (var c = await OpenAsync(server, utf8: false))
        {
            Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<alice@other.test>"));   // one local namespace
            await DataAsync(c, "after reload");
        }
        Assert.Single(await server.WaitForMailAsync("example.test", "alice"));
        await server.WaitForLogAsync(": removed");
        Assert.DoesNotContain("status=deferred", Log(server));
    }
}
