using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Delivery.Maildir;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Addressing;

/// <summary>One canonical form of an address: policy keys, user lookup, aliases and Maildir names agree on every spelling.</summary>
public class AddressKeyTests
{
    // Spellings of kate@example.test: case, U+212A KELVIN SIGN, fullwidth letters, an upper-case and a trailing-dot domain.
    public static TheoryData<string, string> KateSpellings => new()
    {
        { "kate", "example.test" },
        { "KATE", "EXAMPLE.Test" },
        { "\u212Aate", "example.test" },
        { "\uFF4B\uFF41\uFF54\uFF45", "example.test" },
        { "kate", "example.test." },
        { "\u212AATE", "ExAmple.TEST" },
    };

    // Spellings of käte@bücher.example: U-label and A-label domains, upper case, fullwidth dots.
    public static TheoryData<string, string> KaeteSpellings => new()
    {
        { "k\u00E4te", "b\u00FCcher.example" },
        { "K\u00C4TE", "xn--bcher-kva.example" },
        { "K\u00E4TE", "B\u00DCCHER.EXAMPLE" },
        { "k\u00E4te", "XN--BCHER-KVA.example." },
        { "k\u00C4te", "b\u00FCcher\uFF0Eexample" },
        { "k\u00E4te", "b\u00DCcher\u3002Example" },
    };

    [Theory]
    [MemberData(nameof(KateSpellings))]
    public void EverySpellingOfKateHasKatesKey(string local, string domain)
    {
        Assert.Equal("kate@example.test", AddressKey.Of(local, domain));
        Assert.Equal("kate@example.test", new MailAddress(local, domain) is var a ? a.LocalKey + "@" + a.DomainKey : "");
        Assert.True(AddressKey.Comparer.Equals($"{local}@{domain.TrimEnd('.')}", "kate@example.test"));
        Assert.Equal(AddressKey.Comparer.GetHashCode("kate@example.test"), AddressKey.Comparer.GetHashCode($"{local}@{domain.TrimEnd('.')}"));
    }

    [Theory]
    [MemberData(nameof(KaeteSpellings))]
    public void UnicodeFormsAndIdnFormsShareOneKey(string local, string domain)
        => Assert.Equal("k\u00E4te@xn--bcher-kva.example", AddressKey.Of(local, domain));

    [Theory]
    [InlineData("stra\u00DFe", "strasse")]          // ß is not "ss": lower-casing, not case folding
    [InlineData("ka\u0308te", "k\u00E4te")]          // NFD and NFC: two addresses, in every table alike
    [InlineData("\u0130nfo", "info")]              // dotted capital I stays itself
    [InlineData("a/b", "a_b")]
    [InlineData("kate", "kate2")]
    public void DifferentAddressesKeepDifferentKeys(string a, string b)
    {
        Assert.NotEqual(AddressKey.Local(a), AddressKey.Local(b));
        Assert.False(AddressKey.Comparer.Equals(a + "@example.test", b + "@example.test"));
        Assert.NotEqual(MaildirWriter.MailboxPath("/m", "example.test", a), MaildirWriter.MailboxPath("/m", "example.test", b));
    }

    [Theory]
    [InlineData("\u212Aate@Example.TEST")]
    [InlineData("KA\u0308TE@B\u00DCCHER.example")]
    [InlineData("\u212B@\uFF22\u00FC.example")]
    [InlineData("\uFF4B@\uFF45\uFF58\uFF0E\uFF54\uFF45\uFF53\uFF54")]
    [InlineData("\u1E9E@example.test")]
    public void TheKeyIsItsOwnKey(string address) => Assert.Equal(AddressKey.Of(address), AddressKey.Of(AddressKey.Of(address)));

    /// <summary>The access table, the user store, the alias table and the Maildir path answer the same for every spelling.</summary>
    [Theory]
    [MemberData(nameof(KateSpellings))]
    [MemberData(nameof(KaeteSpellings))]
    public async Task PolicyKeyUserKeyAliasKeyAndMaildirNameAgree(string local, string domain)
    {
        bool kate = AddressKey.Local(local) == "kate";
        var canonicalLocal = kate ? "kate" : "k\u00E4te";
        var canonicalDomain = kate ? "example.test" : "xn--bcher-kva.example";
        var policy = Build($"mydestination = {canonicalDomain}\nsmtpd_recipient_restrictions = check_recipient_access inline:{{{canonicalLocal}@{canonicalDomain}=REJECT}}\n");
        var rcpt = new MailAddress(local, domain);
        Assert.StartsWith("554 5.7.1 ", await Rcpt(policy, Ctx(ip: "127.0.0.1", to: "x@y.example") with { Recipient = rcpt }));

        var users = new MemoryUserStore();
        users.Add("kate@example.test", "pw");
        Assert.Equal(kate ? "kate@example.test" : null, users.Find($"{local}@{domain.TrimEnd('.')}")?.Address);

        var aliases = AliasTable.Parse("aliases", "aliases", $"{canonicalLocal}: someone\n", new ConfigDiagnostics());
        Assert.Equal(LookupStatus.Found, (await aliases.LookupAsync(local)).Status);

        Assert.Equal(MaildirWriter.MailboxPath("/m", canonicalDomain, canonicalLocal), MaildirWriter.MailboxPath("/m", domain, local));

        if (!kate) return;
        var p = Params("mydestination = example.test\n");
        var recipients = new LocalRecipients(p, [], new UserStoreUsers(users), new DomainClassifier(p, new TableFactory(), new ConfigDiagnostics()));
        var target = Assert.IsType<ResolvedTarget.Mailbox>(Assert.Single(await recipients.ResolveAsync($"{local}@{domain}")));
        Assert.Equal("kate@example.test", target.Address);
        Assert.Equal(MaildirWriter.MailboxPath("/m", "example.test", "kate"), MaildirWriter.MailboxPath("/m", target.Domain, target.Local));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData(".hidden")]
    [InlineData("")]
    [InlineData("a\\057b")]
    [InlineData("nul\0x")]
    [InlineData("new\nline")]
    public void MaildirSegmentsNeverLeaveTheBaseAndNeverCollide(string name)
    {
        var seg = MaildirWriter.SafeSegment(name);
        Assert.DoesNotContain('/', seg);
        Assert.DoesNotContain('\0', seg);
        Assert.DoesNotContain('\n', seg);
        Assert.False(seg is "" or "." or "..");
        Assert.False(seg.StartsWith('.'));
        string[] others = ["a/b", "a_b", "..", ".", "_..", "_.", ".hidden", "_hidden", "", "a\\057b", "nul\0x", "nul_x", "new\nline"];
        foreach (var other in others.Where(o => o != name))
            Assert.NotEqual(MaildirWriter.SafeSegment(other), seg);
    }
}
