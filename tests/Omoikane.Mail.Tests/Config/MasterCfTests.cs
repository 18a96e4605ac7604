using Omoikane.Mail.Config;

namespace Omoikane.Mail.Tests.Configuration;

/// <summary>master.cf as master(5) documents it.</summary>
public sealed class MasterCfTests
{
    private const string DebianMasterCf = """
        # ==========================================================================
        # service type  private unpriv  chroot  wakeup  maxproc command + args
        #               (yes)   (yes)   (no)    (never) (100)
        # ==========================================================================
        smtp      inet  n       -       y       -       -       smtpd
        submission inet n       -       y       -       -       smtpd
          -o syslog_name=postfix/submission
          -o smtpd_tls_security_level=encrypt
          -o smtpd_sasl_auth_enable=yes
          -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
        smtps     inet  n       -       y       -       10      smtpd
          -o smtpd_tls_wrappermode=yes
        127.0.0.1:10025 inet n  -       n       -       2       smtpd
        [::1]:2526 inet n       -       n       -       0       smtpd
        pop3      inet  n       -       n       -       -       pop3d
        pickup    unix  n       -       y       60      1       pickup
        cleanup   unix  n       -       y       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        smtp      unix  -       -       y       -       -       smtp
        """;

    [Fact]
    public void ParsesDebiansMasterCf()
    {
        var diags = new ConfigDiagnostics();
        var notes = new List<string>();
        var services = MasterCf.Parse(DebianMasterCf, "master.cf", diags, notes);
        Assert.Empty(diags.Items);
        Assert.Equal(["smtp", "submission", "smtps", "127.0.0.1:10025", "[::1]:2526", "pop3"], services.Select(s => s.Service).ToArray());
        Assert.Equal([25, 587, 465, 10025, 2526, 110], services.Select(s => s.Port).ToArray());
        Assert.Equal([null, null, null, "127.0.0.1", "::1", null], services.Select(s => s.Host).ToArray());
        Assert.Equal(MasterCf.DefaultProcessLimit, services[0].MaxProc);
        Assert.Equal(10, services[2].MaxProc);
        Assert.Equal(int.MaxValue, services[4].MaxProc); // 0 = no limit
        var sub = services[1];
        Assert.Equal(["syslog_name", "smtpd_tls_security_level", "smtpd_sasl_auth_enable", "smtpd_client_restrictions"], sub.Overrides.Select(o => o.Name).ToArray());
        Assert.Equal("permit_sasl_authenticated, reject", sub.Overrides[3].Value);
        Assert.Equal(6, sub.Line);
        Assert.True(services[5].IsPop3d);
        Assert.Equal(4, notes.Count); // pickup, cleanup, qmgr, smtp client: internal, ignored with a note
    }

    [Theory]
    [InlineData("smtp inet n - n - - smtpd extra", 0)]
    [InlineData("smtp inet n - n -", 1)]
    [InlineData("smtp tcp n - n - - smtpd", 1)]
    [InlineData("smtp inet n - n - many smtpd", 1)]
    [InlineData("nosuchservice inet n - n - - smtpd", 1)]
    [InlineData("1.2.3.4:99999 inet n - n - - smtpd", 1)]
    [InlineData("smtp inet n - n - - sendmail", 1)]
    [InlineData("smtp inet n - n - - smtpd -o nonsense", 1)]
    public void ErrorsNameTheLine(string line, int errors)
    {
        var diags = new ConfigDiagnostics();
        MasterCf.Parse("# header\n" + line + "\n", "master.cf", diags);
        Assert.Equal(errors, diags.Errors.Count());
        Assert.All(diags.Errors, e => Assert.Equal(2, e.Line));
    }

    [Fact]
    public void WellKnownImplicitTlsNamesImplyTheWrapper()
    {
        var dir = Directory.CreateTempSubdirectory("omoikane-mastercf-").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), "");
        File.WriteAllText(Path.Combine(dir, "master.cf"), """
            submissions inet n - n - - smtpd
            127.0.0.1:smtps inet n - n - - smtpd
            submission inet n - n - - smtpd
            pop3s inet n - n - - pop3d
            pop3 inet n - n - - pop3d
            smtps inet n - n - - smtpd
              -o smtpd_tls_wrappermode=no
            """);
        var config = ConfigLoader.Load(dir);
        Assert.Equal(["yes", "yes", "no", "", "", "no"],
            config.Services.Select(s => s.IsSmtpd ? config.For(s).Get("smtpd_tls_wrappermode") : "").ToArray());
        Assert.Equal(["", "", "", "yes", "no", ""],
            config.Services.Select(s => s.IsPop3d ? config.For(s).Get("pop3d_tls_wrappermode") : "").ToArray());
    }
}
