using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Tests.HostsAccessRules;

/// <summary>hosts_access(5) grammar and evaluation, against files in a temporary directory.</summary>
public sealed class HostsAccessGrammarTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-hosts-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly List<ConfigDiagnostic> _reported = new();

    public HostsAccessGrammarTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Transport.HostsAccess Access(string? allow, string? deny)
    {
        if (allow is not null) File.WriteAllText(Path.Combine(_dir, "hosts.allow"), allow);
        if (deny is not null) File.WriteAllText(Path.Combine(_dir, "hosts.deny"), deny);
        return new Transport.HostsAccess(_dir, _reported.Add);
    }

    private static async Task<bool> GrantedAsync(Transport.HostsAccess access, string address, string? name = null,
        string daemon = "smtpd", bool forged = false)
    {
        var decision = await access.CheckAsync([daemon, daemon == "smtpd" ? "smtp" : "pop3"], IPAddress.Parse(address),
            _ => ValueTask.FromResult(name is null ? new HostsAccessName("unknown", false, forged) : new HostsAccessName(name, true, false)));
        return decision.Granted;
    }

    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "192.0.2.10", false)]
    [InlineData("192.168.", "192.168.7.9", true)]
    [InlineData("192.168.", "192.169.0.1", false)]
    [InlineData("192.168.", "10.192.168.1", false)]
    [InlineData("192.168.0.0/255.255.0.0", "192.168.200.1", true)]
    [InlineData("192.168.0.0/255.255.0.0", "192.169.0.1", false)]
    [InlineData("192.168.0.0/16", "192.168.3.4", true)]
    [InlineData("192.168.0.0/16", "192.167.3.4", false)]
    [InlineData("10.1.2.0/24", "10.1.2.255", true)]
    [InlineData("10.1.2.0/24", "10.1.3.0", false)]
    [InlineData("[::1]/128", "::1", true)]
    [InlineData("[::1]/128", "::2", false)]
    [InlineData("[2001:db8::]/32", "2001:db8:ffff::1", true)]
    [InlineData("[2001:db8::]/32", "2001:db9::1", false)]
    [InlineData("[2001:db8::5]", "2001:db8::5", true)]
    [InlineData("192.0.2.1", "::ffff:192.0.2.1", true)]
    [InlineData("ALL", "198.51.100.1", true)]
    [InlineData("192.0.2.*", "192.0.2.77", true)]
    [InlineData("192.0.2.*", "192.0.3.77", false)]
    // IPv4-mapped networks and clients: one normalisation for both sides.
    [InlineData("[::ffff:127.0.0.0]/104", "127.0.0.1", true)]
    [InlineData("[::ffff:127.0.0.0]/104", "::ffff:127.0.0.2", true)]
    [InlineData("[::ffff:127.0.0.0]/104", "128.0.0.1", false)]
    [InlineData("[::ffff:192.0.2.0]/120", "192.0.2.9", true)]
    [InlineData("[::ffff:192.0.2.0]/120", "192.0.3.9", false)]
    [InlineData("127.0.0.0/8", "::ffff:127.0.0.5", true)]
    [InlineData("127.0.0.0/255.0.0.0", "::ffff:127.0.0.5", true)]
    [InlineData("[::ffff:192.0.2.1]", "192.0.2.1", true)]
    [InlineData("192.0.2.*", "::ffff:192.0.2.77", true)]
    public async Task AddressPatternsMatchAsHostsAccessSays(string pattern, string client, bool denied)
    {
        var access = Access(null, $"smtpd: {pattern}\n");
        Assert.Equal(!denied, await GrantedAsync(access, client));
        Assert.Empty(_reported);
    }

    [Theory]
    [InlineData(".example.com", "mail.example.com", true)]
    [InlineData(".example.com", "example.com", false)]
    [InlineData(".example.com", "mail.example.com.evil.test", false)]
    [InlineData("mail.example.com", "MAIL.Example.COM", true)]
    [InlineData("mail.example.com", "smtp.example.com", false)]
    [InlineData("LOCAL", "gateway", true)]
    [InlineData("LOCAL", "gateway.example.com", false)]
    [InlineData("KNOWN", "a.example.com", true)]
    [InlineData("KNOWN", null, false)]
    [InlineData("UNKNOWN", null, true)]
    [InlineData("UNKNOWN", "a.example.com", false)]
    [InlineData("LOCAL", null, false)]
    [InlineData(".example.com", null, false)]
    [InlineData("*.example.com", "mx1.example.com", true)]
    public async Task NamePatternsUseTheForwardConfirmedName(string pattern, string? name, bool denied)
    {
        var access = Access(null, $"ALL: {pattern}\n");
        Assert.Equal(!denied, await GrantedAsync(access, "203.0.113.9", name));
    }

    [Fact]
    public async Task ParanoidMatchesOnlyAForgedName()
    {
        var access = Access(null, "ALL: PARANOID\n");
        Assert.False(await GrantedAsync(access, "203.0.113.9", forged: true));
        Assert.True(await GrantedAsync(access, "203.0.113.9", forged: false));
        Assert.True(await GrantedAsync(access, "203.0.113.9", name: "ok.example.com"));
    }

    [Fact]
    public async Task AddressOnlyRulesNeverLookUpTheName()
    {
        var access = Access("smtpd: 192.0.2.0/24\n", "ALL: 10.\n");
        var lookups = 0;
        var decision = await access.CheckAsync(["smtpd"], IPAddress.Parse("198.51.100.1"),
            _ => { lookups++; return ValueTask.FromResult(HostsAccessName.None); });
        Assert.True(decision.Granted);
        Assert.Null(decision.Rule);
        Assert.Equal(0, lookups);
    }

    [Fact]
    public async Task TheNameIsLookedUpOnceEvenWhenManyRulesNeedIt()
    {
        var access = Access("smtpd: .a.example\nsmtpd: .b.example\n", "ALL: KNOWN\n");
        var lookups = 0;
        var decision = await access.CheckAsync(["smtpd"], IPAddress.Parse("198.51.100.1"),
            _ => { lookups++; return ValueTask.FromResult(new HostsAccessName("x.c.example", true, false)); });
        Assert.False(decision.Granted);
        Assert.Equal(1, lookups);
    }

    [Fact]
    public async Task AllowFileWinsOverDenyFile()
    {
        var access = Access("smtpd: 192.168.1.\n", "ALL: ALL\n");
        Assert.True(await GrantedAsync(access, "192.168.1.20"));
        Assert.False(await GrantedAsync(access, "192.168.2.20"));
        Assert.False(await GrantedAsync(access, "192.168.1.20", daemon: "pop3d"));
    }

    [Fact]
    public async Task NoMatchingRuleGrants()
    {
        var access = Access("pop3d: 10.0.0.1\n", "pop3d: ALL\n");
        Assert.True(await GrantedAsync(access, "10.9.9.9", daemon: "smtpd"));
        Assert.False(await GrantedAsync(access, "10.9.9.9", daemon: "pop3d"));
        Assert.True(await GrantedAsync(access, "10.0.0.1", daemon: "pop3d"));
    }

    [Fact]
    public async Task MissingFilesGrantEveryone()
    {
        var access = Access(null, null);
        Assert.False(access.HasRules);
        Assert.True(await GrantedAsync(access, "192.0.2.1"));
    }

    [Fact]
    public async Task ClientExceptExcludesFromTheList()
    {
        var access = Access(null, "smtpd: 192.168.0.0/16 EXCEPT 192.168.1.0/24\n");
        Assert.False(await GrantedAsync(access, "192.168.2.1"));
        Assert.True(await GrantedAsync(access, "192.168.1.1"));
    }

    [Fact]
    public async Task NestedExceptIsRightAssociative()
    {
        // a EXCEPT b EXCEPT c = a EXCEPT (b EXCEPT c)
        var access = Access(null, "ALL: 10. EXCEPT 10.1. EXCEPT 10.1.1.1\n");
        Assert.False(await GrantedAsync(access, "10.2.0.1"));
        Assert.True(await GrantedAsync(access, "10.1.0.1"));
        Assert.False(await GrantedAsync(access, "10.1.1.1"));
    }

    [Fact]
    public async Task DaemonListAllExcept()
    {
        var access = Access(null, "ALL EXCEPT pop3d: ALL\n");
        Assert.False(await GrantedAsync(access, "192.0.2.1", daemon: "smtpd"));
        Assert.True(await GrantedAsync(access, "192.0.2.1", daemon: "pop3d"));
    }

    [Fact]
    public async Task DaemonListsSplitOnCommasAndBlanks()
    {
        var access = Access(null, "smtpd,pop3d : 192.0.2.1, 192.0.2.2 192.0.2.3\n");
        foreach (var daemon in new[] { "smtpd", "pop3d" })
            foreach (var ip in new[] { "192.0.2.1", "192.0.2.2", "192.0.2.3" })
                Assert.False(await GrantedAsync(access, ip, daemon: daemon));
        Assert.True(await GrantedAsync(access, "192.0.2.4"));
    }

    [Fact]
    public async Task OptionFormDecidesInEitherFile()
    {
        // hosts_options(5): everything in hosts.allow, with explicit allow/deny.
        var access = Access("smtpd: 192.0.2.66 : deny\nsmtpd: 192.0.2.0/24 : allow\nALL: ALL : deny\n", null);
        Assert.False(await GrantedAsync(access, "192.0.2.66"));
        Assert.True(await GrantedAsync(access, "192.0.2.7"));
        Assert.False(await GrantedAsync(access, "198.51.100.7"));

        var deny = Access("", "smtpd: 198.51.100.5 : allow\nsmtpd: ALL\n");
        Assert.True(await GrantedAsync(deny, "198.51.100.5"));
        Assert.False(await GrantedAsync(deny, "198.51.100.6"));
    }

    [Fact]
    public async Task FirstMatchingRuleDecides()
    {
        var access = Access("smtpd: 192.0.2.1 : deny\nsmtpd: 192.0.2.1 : allow\n", null);
        var decision = await access.CheckAsync(["smtpd"], IPAddress.Parse("192.0.2.1"), _ => ValueTask.FromResult(HostsAccessName.None));
        Assert.False(decision.Granted);
        Assert.Equal(1, decision.Rule!.Line);
    }

    [Fact]
    public async Task ContinuationLinesAndCommentsAreHonoured()
    {
        var access = Access(null, "# comment : ALL\n   # indented comment\n\nsmtpd: 192.0.2.1, \\\n   192.0.2.2 \\\n   192.0.2.3\nsmtpd: 192.0.2.9\n");
        Assert.False(await GrantedAsync(access, "192.0.2.1"));
        Assert.False(await GrantedAsync(access, "192.0.2.3"));
        var decision = await access.CheckAsync(["smtpd"], IPAddress.Parse("192.0.2.9"), _ => ValueTask.FromResult(HostsAccessName.None));
        Assert.Equal(7, decision.Rule!.Line);
        Assert.True(await GrantedAsync(access, "192.0.2.4"));
        Assert.Empty(_reported);
    }

    [Fact]
    public async Task ServiceNamesFromMasterCfMatchToo()
    {
        var access = Access(null, "submission: ALL\n");
        Assert.False(await access.CheckAsync(["smtpd", "submission"], IPAddress.Parse("192.0.2.1"), _ => ValueTask.FromResult(HostsAccessName.None)).AsTask().ContinueWith(t => t.Result.Granted));
        Assert.True(await GrantedAsync(access, "192.0.2.1"));
    }

    [Theory]
    [InlineData("smtpd 192.0.2.1", "missing \":\" separator")]
    [InlineData(": 192.0.2.1", "empty daemon list")]
    [InlineData("smtpd :", "empty client list")]
    [InlineData("smtpd: EXCEPT 192.0.2.1", "EXCEPT must stand between")]
    [InlineData("smtpd: 192.0.2.1 EXCEPT", "EXCEPT must stand between")]
    [InlineData("smtpd: 192.168.0.0/33", "bad network")]
    [InlineData("smtpd: 192.168.1.0/255.255.0.0", "host bits")]
    [InlineData("smtpd: 192.168.0.0/255.x.0.0", "bad netmask")]
    [InlineData("smtpd: [192.0.2.1]/32", "bad network")]
    [InlineData("smtpd: @trusted", "not supported")]
    [InlineData("smtpd: user@192.0.2.1", "not supported")]
    [InlineData("smtpd: 192.0.2.1 : spawn (echo hi)", "not supported")]
    [InlineData("smtpd: 192.0.2.1 : allow : severity auth.info", "must be the last option")]
    [InlineData("imapd: ALL", "none of smtpd, pop3d")]
    public void ParseErrorsAreWarningsWithFileAndLine(string line, string expected)
    {
        var diags = new ConfigDiagnostics();
        HostsAccessFile.Parse("# first\n" + line + "\n", "/etc/omoikane/hosts.deny", diags);
        var d = Assert.Single(diags.Items);
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal(2, d.Line);
        Assert.StartsWith("/etc/omoikane/hosts.deny:2: warning: ", d.ToString());
        Assert.Contains(expected, d.Message);
    }

    [Fact]
    public void UnbracketedIPv6IsNotTakenForAnAddress()
    {
        var diags = new ConfigDiagnostics();
        var rules = HostsAccessFile.Parse("smtpd: 2001:db8::/32\n", "hosts.deny", diags);
        Assert.NotEmpty(diags.Items);
        Assert.All(diags.Items, d => Assert.Equal(1, d.Line));
        Assert.DoesNotContain(rules.SelectMany(r => r.Clients), c => c.Kind == HostsAccessPatternKind.Network);
    }

    [Fact]
    public async Task ABrokenLineIsSkippedAndTheOthersStillApply()
    {
        var access = Access(null, "smtpd 192.0.2.1\nsmtpd: 192.0.2.2\n");
        Assert.True(await GrantedAsync(access, "192.0.2.1"));
        Assert.False(await GrantedAsync(access, "192.0.2.2"));
        var d = Assert.Single(_reported);
        Assert.Equal(1, d.Line);
    }

    [Fact]
    public async Task UnsupportedPatternsNeverMatch()
    {
        var access = Access(null, "ALL: @netgroup /etc/file user@192.0.2.1\n");
        Assert.True(await GrantedAsync(access, "192.0.2.1", "host.example"));
    }

    [Fact]
    public async Task ChangedFilesAreReadAgain()
    {
        var access = Access(null, "smtpd: 192.0.2.1\n");
        Assert.False(await GrantedAsync(access, "192.0.2.1"));
        var deny = Path.Combine(_dir, "hosts.deny");
        File.WriteAllText(deny, "smtpd: 192.0.2.2\n");
        File.SetLastWriteTimeUtc(deny, DateTime.UtcNow.AddMinutes(1));
        access.RefreshIfChanged(force: true);
        Assert.True(await GrantedAsync(access, "192.0.2.1"));
        Assert.False(await GrantedAsync(access, "192.0.2.2"));
        File.Delete(deny);
        access.RefreshIfChanged(force: true);
        Assert.True(await GrantedAsync(access, "192.0.2.2"));
    }

    [Fact]
    public async Task UnchangedFilesAreNotReparsed()
    {
        var access = Access(null, "smtpd: 192.0.2.1\nbroken line\n");
        Assert.Single(_reported);
        access.RefreshIfChanged(force: false);
        access.RefreshIfChanged(force: false);
        Assert.False(await GrantedAsync(access, "192.0.2.1"));
        Assert.Single(_reported);
    }
}
