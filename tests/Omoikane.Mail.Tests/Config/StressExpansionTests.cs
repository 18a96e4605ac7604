using Omoikane.Mail.Config;

namespace Omoikane.Mail.Tests.Configuration;

/// <summary>
/// "${name?{value1}:{value2}}" (postconf(5), Postfix 3.0) and the stress-adaptive defaults of STRESS_README:
/// short timeouts and error limits when a session starts while its service is at its process limit.
/// </summary>
public sealed class StressExpansionTests
{
    private static Parameters Load(string text)
    {
        var diags = new ConfigDiagnostics();
        var p = new Parameters(MainCf.Parse(text, "main.cf", diags));
        Assert.Empty(diags.Items);
        return p;
    }

    [Fact]
    public void TheTernaryFormPicksItsBranchByTheParameter()
    {
        var p = Load("""
            smtpd_timeout = ${stress?{7}:{120}}s
            a = ${myorigin?{set}:{empty}}
            b = ${unset_thing?{set}:{empty}}
            c = ${stress?{x}}
            d = ${stress:{fallback}}
            """);
        Assert.Equal("120s", p.Get("smtpd_timeout"));
        Assert.Equal(TimeSpan.FromSeconds(120), p.GetTime("smtpd_timeout"));
        Assert.Equal("set", p.Get("a"));
        Assert.Equal("empty", p.Get("b"));
        Assert.Equal("", p.Get("c"));
        Assert.Equal("fallback", p.Get("d"));

        var stressed = p.UnderStress();
        Assert.Equal(TimeSpan.FromSeconds(7), stressed.GetTime("smtpd_timeout"));
        Assert.Equal("x", stressed.Get("c"));
        Assert.Equal("", stressed.Get("d"));
    }

    [Fact]
    public void DefaultsAdaptToStressAsPostfixDoes()
    {
        var normal = Parameters.Defaults();
        var stressed = normal.UnderStress();
        Assert.Equal(TimeSpan.FromSeconds(300), normal.GetTime("smtpd_timeout"));
        Assert.Equal(TimeSpan.FromSeconds(10), stressed.GetTime("smtpd_timeout"));
        Assert.Equal(TimeSpan.FromSeconds(300), normal.GetTime("smtpd_starttls_timeout"));
        Assert.Equal(TimeSpan.FromSeconds(10), stressed.GetTime("smtpd_starttls_timeout"));
        Assert.Equal(20, normal.GetInt("smtpd_hard_error_limit"));
        Assert.Equal(1, stressed.GetInt("smtpd_hard_error_limit"));
        Assert.Equal(100, normal.GetInt("smtpd_junk_command_limit"));
        Assert.Equal(1, stressed.GetInt("smtpd_junk_command_limit"));
        Assert.Equal(TimeSpan.FromSeconds(600), normal.GetTime("pop3d_timeout"));
        Assert.Equal(TimeSpan.FromSeconds(10), stressed.GetTime("pop3d_timeout"));
        Assert.Equal(TimeSpan.FromSeconds(10), stressed.GetTime("pop3d_starttls_timeout"));
    }

    [Fact]
    public void AnExplicitValueWithoutStressStaysThesameUnderStress()
    {
        var p = Load("smtpd_timeout = 60s\n");
        Assert.Equal(TimeSpan.FromSeconds(60), p.UnderStress().GetTime("smtpd_timeout"));
    }
}
