using System.Net;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Delivery;

/// <summary>RCPT (ExistsAsync) and delivery (ResolveAsync) give the same answer: nothing accepted is then bounced as unknown.</summary>
public class LocalRecipientsTests
{
    private const string Aliases = """
        team: alice, ghost
        ghost: nobody
        loop1: loop2
        loop2: loop1
        piped: |/bin/true
        filed: /var/mail/archive, "|/usr/bin/logger -t mail"
        self: self, alice
        """;

    private static LocalRecipients Create(string aliases = Aliases, string mainCf = "", params string[] users)
    {
        var p = Params("mydestination = example.test, localhost\nmyhostname = mail.example.test\nrecipient_delimiter = +\n" + mainCf);
        var store = new MemoryUserStore();
        foreach (var u in users) store.Add(u, "pw");
        var table = AliasTable.Parse("aliases", "aliases", aliases, new ConfigDiagnostics());
        var domains = new DomainClassifier(p, new TableFactory(), new ConfigDiagnostics(), [IPAddress.Loopback, IPAddress.Parse("192.0.2.10")]);
        return new LocalRecipients(p, [table], new UserStoreUsers(store), domains);
    }

    private static Task<IReadOnlyList<ResolvedTarget>> Resolve(LocalRecipients r, string a) => r.ResolveAsync(a);

    private static async Task<LookupStatus> Exists(LocalRecipients r, string local, string domain)
        => await r.ExistsAsync(new MailAddress(local, domain));

    [Theory]
    [InlineData("ghost")]      // alias to a user that does not exist
    [InlineData("loop1")]      // alias loop
    [InlineData("piped")]      // alias to a command when allow_mail_to_commands does not name "alias"
    [InlineData("filed")]      // and to a file when allow_mail_to_files does not
    [InlineData("nobody")]
    public async Task WhatDeliveryWouldBounceIsUnknownAtRcpt(string local)
    {
        var r = Create(mainCf: "allow_mail_to_commands = forward\nallow_mail_to_files = forward\n", users: ["alice@example.test", "self@example.test"]);
        Assert.Equal(LookupStatus.NotFound, await Exists(r, local, "example.test"));
        var targets = await Resolve(r, local + "@example.test");
        Assert.NotEmpty(targets);
        Assert.DoesNotContain(targets, t => t.IsDeliverable);
    }

    [Fact]
    public async Task CommandsAndFilesOfAliasesAreDeliverableByDefault()
    {
        var r = Create(users: ["alice@example.test"]);
        Assert.Equal(LookupStatus.Found, await Exists(r, "piped", "example.test"));
        Assert.Equal("/bin/true", Assert.IsType<ResolvedTarget.Command>(Assert.Single(await Resolve(r, "piped@example.test"))).CommandLine);
        var filed = await Resolve(r, "filed@example.test");
        Assert.Equal("/var/mail/archive", Assert.IsType<ResolvedTarget.File>(filed[0]).Path);
        Assert.Equal("/usr/bin/logger -t mail", Assert.IsType<ResolvedTarget.Command>(filed[1]).CommandLine);   // quoted: one target
    }

    [Fact]
    public async Task AnAliasWithOneDeliverableTargetIsAccepted()
    {
        var r = Create(users: ["alice@example.test", "self@example.test"]);
        Assert.Equal(LookupStatus.Found, await Exists(r, "team", "example.test"));
        Assert.Equal(LookupStatus.Found, await Exists(r, "self", "example.test"));
        var self = await Resolve(r, "self@example.test");
        Assert.Equal(["self@example.test", "alice@example.test"], self.OfType<ResolvedTarget.Mailbox>().Select(m => m.Address));
    }

    [Fact]
    public async Task OwnAddressLiteralIsLocalAndOneNamespaceWithMydestination()
    {
        var r = Create(users: ["alice@example.test"]);
        var m = Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(r, "alice@[127.0.0.1]")));
        Assert.Equal("alice@example.test", m.Address);
        Assert.Equal("alice@example.test", Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(r, "Alice+tag@[IPv6:::ffff:192.0.2.10]"))).Address);
        Assert.Equal("alice@example.test", Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(r, "alice@localhost"))).Address);
        Assert.Equal(LookupStatus.NotFound, await Exists(r, "nobody", "[127.0.0.1]"));
        Assert.IsType<ResolvedTarget.Remote>(Assert.Single(await Resolve(r, "alice@[192.0.2.99]")));
    }

    [Theory]
    [InlineData("postmaster", "[127.0.0.1]")]
    [InlineData("postmaster", "example.test")]
    [InlineData("PostMaster", "localhost")]
    [InlineData("MAILER-DAEMON", "example.test")]
    [InlineData("double-bounce", "example.test")]
    public async Task PostmasterIsAlwaysDeliverable(string local, string domain)
    {
        var r = Create(aliases: "root: nobody\n");
        Assert.Equal(LookupStatus.Found, await Exists(r, local, domain));
        var m = Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(r, $"{local}@{domain}")));
        Assert.Equal("postmaster", m.Local);
        // "postmaster: root" with no user root (the stock aliases file on a server without Unix users).
        var stock = Create(aliases: "postmaster: root\n");
        Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(stock, $"{local}@{domain}")));
        // With an alias to a user, the user gets it.
        var aliased = Create(aliases: "postmaster: alice\n", users: ["alice@example.test"]);
        Assert.Equal("alice@example.test", Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(aliased, $"{local}@{domain}"))).Address);
    }

    [Fact]
    public async Task KelvinSignReachesKateAndAliasKeysFoldAlike()
    {
        var r = Create(aliases: "kate: alice\n", users: ["alice@example.test", "kate@example.test"]);
        Assert.Equal("alice@example.test", Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(r, "\u212Aate@example.test"))).Address);
        var noAlias = Create(aliases: "x: y\n", users: ["kate@example.test"]);
        Assert.Equal("kate@example.test", Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await Resolve(noAlias, "\u212AATE@EXAMPLE.test"))).Address);
    }
}
