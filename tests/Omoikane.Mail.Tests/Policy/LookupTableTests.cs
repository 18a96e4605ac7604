using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Policy;

public class LookupTableTests
{
    private static async Task<string?> Find(ILookupTable t, string key) => (await t.LookupAsync(key)).Value;

    [Fact]
    public async Task CidrTableMatchesFirstEntryInFileOrder()
    {
        // cidr_table(5) example, plus an IPv6 network and a bare host.
        var path = TempFile("""
            # Rule order matters. Put more specific allowlist entries
            # before more general denylist entries.
            192.168.1.1             OK
            192.168.0.0/16          REJECT
            2001:db8::1             OK
            2001:db8::/32           REJECT
            10.0.0.0/8              554 go
              away
            """);
        var diags = new ConfigDiagnostics();
        var t = new TableFactory().Create("cidr:" + path, diags)!;
        Assert.Empty(diags.Items);
        Assert.Equal("OK", await Find(t, "192.168.1.1"));
        Assert.Equal("REJECT", await Find(t, "192.168.1.2"));
        Assert.Equal("OK", await Find(t, "2001:db8::1"));
        Assert.Equal("REJECT", await Find(t, "2001:db8:1::5"));
        Assert.Equal("554 go away", await Find(t, "10.1.2.3"));
        Assert.Null(await Find(t, "192.0.2.1"));
        Assert.Null(await Find(t, "example.com"));
    }

    [Fact]
    public void CidrTableReportsHostBitsWithFileAndLine()
    {
        var path = TempFile("192.0.2.0/24 OK\n192.0.2.1/24 REJECT\n");
        var diags = new ConfigDiagnostics();
        new TableFactory().Create("cidr:" + path, diags);
        var d = Assert.Single(diags.Errors);
        Assert.Equal(path, d.File);
        Assert.Equal(2, d.Line);
        Assert.Contains("192.0.2.0/24", d.Message);
    }

    [Theory]
    [InlineData("hash")]
    [InlineData("texthash")]
    public async Task HashTablesReadTheTextSourceCaseInsensitively(string type)
    {
        var path = TempFile("""
            # access table
            Example.COM     REJECT
            friend.example.com OK
            user@example.net   550 5.7.1 go
                away please
            """);
        var diags = new ConfigDiagnostics();
        var t = new TableFactory().Create($"{type}:{path}", diags)!;
        Assert.Empty(diags.Items);
        Assert.Equal("REJECT", await Find(t, "example.com"));
        Assert.Equal("OK", await Find(t, "FRIEND.example.com"));
        Assert.Equal("550 5.7.1 go away please", await Find(t, "user@example.net"));
        Assert.Null(await Find(t, "# access table"));
        Assert.Null(await Find(t, "other.example"));
    }

    [Fact]
    public async Task InlineTableAcceptsBracedElementsWithSpaces()
    {
        var diags = new ConfigDiagnostics();
        var t = new TableFactory().Create("inline:{ a.example=OK, { b.example = REJECT no thanks }, c.example = DUNNO }", diags);
        // "c.example = DUNNO" unbraced splits into three elements: Postfix reports that too.
        Assert.NotEmpty(diags.Errors);
        diags = new ConfigDiagnostics();
        t = new TableFactory().Create("inline:{ a.example=OK, { b.example = REJECT no thanks } }", diags)!;
        Assert.Empty(diags.Items);
        Assert.Equal("OK", await Find(t, "A.example"));
        Assert.Equal("REJECT no thanks", await Find(t, "b.example"));
        Assert.Null(await Find(t, "c.example"));
    }

    [Fact]
    public async Task StaticTableAlwaysFinds()
    {
        var t = new TableFactory().Create("static:{REJECT go away}", new ConfigDiagnostics())!;
        Assert.Equal("REJECT go away", await Find(t, "anything"));
    }

    [Fact]
    public void UnknownTypeAndMissingFileAreErrorsThatSayWhatToDo()
    {
        var diags = new ConfigDiagnostics();
        var f = new TableFactory();
        Assert.Null(f.Create("regexp:/etc/postfix/x", diags, "main.cf", 7));
        Assert.Null(f.Create("hash:/nonexistent/omoikane/access", diags, "main.cf", 8));
        Assert.Equal(2, diags.Errors.Count());
        var first = diags.Errors.First();
        Assert.Equal(("main.cf", 7), (first.File, first.Line));
        Assert.Contains("regexp", first.Message);
        Assert.Contains("cidr:", first.Message);
        var second = diags.Errors.Last();
        Assert.Equal("/nonexistent/omoikane/access", second.File);
        Assert.Contains("create the text file", second.Message);
    }

    [Fact]
    public async Task AliasMapUsesAliasesSyntax()
    {
        var path = TempFile("""
            # aliases(5)
            postmaster: root
            root:   john,
                    mary@example.com
            "with space": john
            MAILER-DAEMON: postmaster
            """);
        var diags = new ConfigDiagnostics();
        var t = new TableFactory().CreateAliasMap("hash:" + path, diags)!;
        Assert.Empty(diags.Items);
        Assert.IsType<AliasTable>(t);
        Assert.Equal("root", await Find(t, "postmaster"));
        Assert.Equal("john, mary@example.com", await Find(t, "ROOT"));
        Assert.Equal("john", await Find(t, "with space"));
        Assert.Equal(["john", "mary@example.com"], AliasTable.SplitTargets((await Find(t, "root"))!));
        // local(8): targets are separated by commas or white space; a quoted target keeps both.
        Assert.Equal(["a", "b", "\"|/usr/bin/vacation -a joe, x\"", "/var/mail/log"],
            AliasTable.SplitTargets("a b,\t\"|/usr/bin/vacation -a joe, x\" /var/mail/log"));
        Assert.Null(await Find(t, "nobody"));
    }

    [Fact]
    public void AliasLineWithoutColonIsAnError()
    {
        var path = TempFile("postmaster root\n");
        var diags = new ConfigDiagnostics();
        new TableFactory().CreateAliasMap("hash:" + path, diags);
        var d = Assert.Single(diags.Errors);
        Assert.Equal(1, d.Line);
    }

    [Fact]
    public void TheSameSpecIsLoadedOnce()
    {
        var path = TempFile("a OK\n");
        var f = new TableFactory();
        var a = f.Create("hash:" + path, new ConfigDiagnostics());
        File.WriteAllText(path, "garbage-without-value\n");
        var b = f.Create("hash:" + path, new ConfigDiagnostics());
        Assert.Same(a, b);
    }
}
