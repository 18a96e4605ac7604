using Omoikane.Mail.Config;

namespace Omoikane.Mail.Tests.Configuration;

/// <summary>main.cf syntax as postconf(5) documents it.</summary>
public sealed class MainCfTests
{
    private static Parameters Load(string text, out ConfigDiagnostics diags)
    {
        diags = new ConfigDiagnostics();
        return new Parameters(MainCf.Parse(text, "main.cf", diags));
    }

    [Fact]
    public void CommentsBlankLinesAndContinuationLines()
    {
        var p = Load("""
            # a comment
            myhostname = mail.example.com

            mydestination = $myhostname,
                localhost.$mydomain,
            # a comment inside a continued value is skipped
                localhost
            mydomain = example.com
            """, out var d);
        Assert.Empty(d.Items);
        Assert.Equal("mail.example.com, localhost.example.com, localhost", p.Get("mydestination"));
        Assert.Equal(["mail.example.com", "localhost.example.com", "localhost"], p.GetList("mydestination"));
    }

    [Fact]
    public void LaterDefinitionWins()
    {
        var p = Load("myhostname = a.example\nmyhostname = b.example\n", out _);
        Assert.Equal("b.example", p.Get("myhostname"));
    }

    [Fact]
    public void ExpansionForms()
    {
        var p = Load("""
            myhostname = mx.example.com
            a = $myhostname
            b = ${myhostname}
            c = $(myhostname)
            d = ${myhostname?{set}}
            e = ${empty?{set}}
            f = ${empty:fallback}
            g = ${myhostname:fallback}
            h = $$literal
            empty =
            loop1 = $loop2
            loop2 = $loop1
            """, out _);
        Assert.Equal("mx.example.com", p.Get("a"));
        Assert.Equal("mx.example.com", p.Get("b"));
        Assert.Equal("mx.example.com", p.Get("c"));
        Assert.Equal("set", p.Get("d"));
        Assert.Equal("", p.Get("e"));
        Assert.Equal("fallback", p.Get("f"));
        Assert.Equal("", p.Get("g"));
        Assert.Equal("$literal", p.Get("h"));
        Assert.Equal("", p.Get("loop1"));
    }

    [Fact]
    public void DefaultsReferenceOtherParameters()
    {
        var p = Load("myhostname = mail.example.org\nmydomain = example.org\n", out _);
        Assert.Equal("mail.example.org ESMTP Omoikane", p.Get("smtpd_banner"));
        Assert.Equal(["mail.example.org", "localhost.example.org", "localhost"], p.GetList("mydestination"));
        Assert.Equal("mail.example.org", p.Get("myorigin"));
    }

    [Fact]
    public void ListsSplitOnCommasAndWhiteSpaceKeepingBraces()
    {
        Assert.Equal(["a", "b", "c", "d"], Parameters.SplitList("a, b c,,d"));
        Assert.Equal(["check_client_access", "inline:{ 1.2.3.4=OK, 5.6.7.8=REJECT }", "permit"],
            Parameters.SplitList("check_client_access inline:{ 1.2.3.4=OK, 5.6.7.8=REJECT }, permit"));
        Assert.Equal(["x = y"], Parameters.SplitList("{ x = y }"));
    }

    [Theory]
    [InlineData("300s", 300)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 172800)]
    [InlineData("1w", 604800)]
    [InlineData("42", 42)]
    public void TimeUnits(string text, int seconds)
    {
        Assert.True(Parameters.TryParseTime(text, 's', out var t));
        Assert.Equal(TimeSpan.FromSeconds(seconds), t);
    }

    [Fact]
    public void BareNumberUsesTheParametersOwnUnit()
    {
        var p = Load("maximal_queue_lifetime = 3\nsmtpd_timeout = 60\n", out _);
        Assert.Equal(TimeSpan.FromDays(3), p.GetTime("maximal_queue_lifetime"));
        Assert.Equal(TimeSpan.FromSeconds(60), p.GetTime("smtpd_timeout"));
    }

    [Fact]
    public void SyntaxErrorsNameFileAndLine()
    {
        Load("myhostname = ok\nthis line has no equals sign\n  \n bad continuation\n", out var d1);
        Assert.Contains(d1.Errors, e => e.ToString().StartsWith("main.cf:2: error: missing '='"));
        Load(" leading = space\n", out var d2);
        Assert.Contains(d2.Errors, e => e.Line == 1 && e.Message.Contains("continuation line"));
        Load("bad name! = x\n", out var d3);
        Assert.Contains(d3.Errors, e => e.Line == 1 && e.Message.Contains("invalid parameter name"));
    }

    [Fact]
    public void LoaderTypeChecksAndWarnsAboutUnknownNames()
    {
        var dir = Directory.CreateTempSubdirectory("omoikane-maincf-").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), """
            smtpd_helo_required = maybe
            message_size_limit = big
            smtpd_timeout = 10x
            typo_parameter = 1
            mua_restrictions = permit_sasl_authenticated, reject
            smtpd_tls_security_level = sometimes
            smtpd_forbid_bare_newline = maybe
            """);
        File.WriteAllText(Path.Combine(dir, "master.cf"), "submission inet n - n - - smtpd\n  -o smtpd_client_restrictions=$mua_restrictions\n");
        var config = ConfigLoader.Load(dir);
        var main = Path.Combine(dir, "main.cf");
        var all = config.Diagnostics.Items.Select(x => x.ToString()).ToList();
        Assert.Contains($"{main}:1: error: smtpd_helo_required = maybe: expected yes or no", all);
        Assert.Contains($"{main}:2: error: message_size_limit = big: expected a number", all);
        Assert.Contains(all, s => s.StartsWith($"{main}:3: error: smtpd_timeout = 10x"));
        Assert.Contains(all, s => s.StartsWith($"{main}:4: warning: unknown parameter \"typo_parameter\""));
        Assert.DoesNotContain(all, s => s.Contains("mua_restrictions")); // referenced from master.cf: user-defined
        Assert.Contains(all, s => s.StartsWith($"{main}:6: error: smtpd_tls_security_level = sometimes"));
        Assert.Contains($"{main}:7: error: smtpd_forbid_bare_newline = maybe: expected normalize, yes (= normalize), reject or no", all);
        Assert.Equal("permit_sasl_authenticated, reject", config.For(config.Services[0]).Get("smtpd_client_restrictions"));
    }

    [Fact]
    public void EmbeddedDefaultIsLoopbackWithUnprivilegedPorts()
    {
        var config = ConfigLoader.Load(null, Path.GetTempPath());
        Assert.True(config.Embedded);
        Assert.Equal("localhost", config.Main.Get("myhostname"));
        Assert.Equal(["localhost"], config.Main.GetList("mydestination"));
        Assert.Equal([2525, 5870, 4650, 1100, 9950], config.Services.Select(s => s.Port).ToArray());
        Assert.All(config.Services, s => Assert.Equal("127.0.0.1", s.Host));
        Assert.Equal(Path.Combine(Path.GetTempPath(), "omoikane-data"), config.DataDirectory);
        Assert.Equal(Path.Combine(Path.GetTempPath(), "omoikane-data", "queue"), config.QueueDirectory);
        Assert.Equal(Path.Combine(Path.GetTempPath(), "omoikane-data", "mail"), config.MailboxBase);
    }
}
