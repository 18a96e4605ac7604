using Omoikane.Mail.Config;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class SaslMechanismsTests
{
    private static readonly SaslContext Clear = new("mail.example.org");
    private static readonly SaslContext Tls = new("mail.example.org", Tls: true);
    private static readonly SaslContext Bound = new("mail.example.org", TlsExporter: new byte[32]);

    private static SaslMechanisms Registry(Parameters p) => new(TestUsers.Store(), SaslOptions.FromParameters(p));

    [Fact]
    public void DefaultsOfferTheConfiguredOrder()
    {
        var r = Registry(Parameters.Defaults());
        Assert.Equal(["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"], r.Offered(Clear));
        Assert.Empty(r.Options.Warnings);
    }

    [Fact]
    public void PlusIsOfferedFirstOnlyWithChannelBindingData()
    {
        var r = Registry(Parameters.Defaults());
        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"], r.Offered(Bound));
        Assert.Null(r.Create("SCRAM-SHA-256-PLUS", Clear));
        Assert.IsType<ScramSha256Mechanism>(r.Create("scram-sha-256-plus", Bound));
    }

    [Fact]
    public void NoPlaintextDropsPlainAndLogin()
    {
        var r = Registry(Parameters.Defaults().With("smtpd_sasl_security_options", "noanonymous, noplaintext")
                                              .With("smtpd_sasl_tls_security_options", "noanonymous"));
        Assert.Equal(["SCRAM-SHA-256", "CRAM-MD5"], r.Offered(Clear));
        Assert.Null(r.Create("PLAIN", Clear));
        Assert.Null(r.Create("LOGIN", Clear));
        // Under TLS the TLS options apply: plaintext is fine there.
        Assert.Equal(["SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"], r.Offered(Tls));
        Assert.IsType<PlainMechanism>(r.Create("plain", Tls));
    }

    [Fact]
    public void TlsOptionsDefaultToThePlainOnes()
    {
        var r = Registry(Parameters.Defaults().With("smtpd_sasl_security_options", "noplaintext"));
        Assert.DoesNotContain("PLAIN", r.Offered(Tls));
    }

    [Fact]
    public void OtherOptionsAreAcceptedAndUnknownOnesWarned()
    {
        var o = SaslOptions.FromParameters(Parameters.Defaults()
            .With("smtpd_sasl_security_options", "noanonymous noactive nodictionary mutual_auth forward_secrecy bogus")
            .With("smtpd_sasl_mechanisms", "CRAM-MD5 DIGEST-MD5 plain"));
        Assert.Equal(SaslSecurityOptions.NoAnonymous | SaslSecurityOptions.NoActive | SaslSecurityOptions.NoDictionary
                     | SaslSecurityOptions.MutualAuth | SaslSecurityOptions.ForwardSecrecy, o.Security);
        Assert.Equal(["CRAM-MD5", "PLAIN"], o.Mechanisms);
        Assert.Equal(2, o.Warnings.Count);
        Assert.Contains(o.Warnings, w => w.Contains("bogus"));
        Assert.Contains(o.Warnings, w => w.Contains("DIGEST-MD5"));
    }

    [Fact]
    public void CreateGivesTheRightClassesAndNullForOthers()
    {
        var r = Registry(Parameters.Defaults());
        Assert.IsType<PlainMechanism>(r.Create("PLAIN", Clear));
        Assert.IsType<LoginMechanism>(r.Create("login", Clear));
        Assert.IsType<CramMd5Mechanism>(r.Create("CRAM-MD5", Clear));
        Assert.Equal("SCRAM-SHA-256", r.Create("SCRAM-SHA-256", Clear)!.Name);
        Assert.Null(r.Create("DIGEST-MD5", Clear));
        Assert.Null(r.Create("ANONYMOUS", Clear));
        Assert.Null(r.Create("", Clear));
    }

    [Fact]
    public void DisabledMechanismIsNotCreated()
    {
        var r = Registry(Parameters.Defaults().With("smtpd_sasl_mechanisms", "SCRAM-SHA-256"));
        Assert.Equal(["SCRAM-SHA-256"], r.Offered(Clear));
        Assert.Null(r.Create("PLAIN", Clear));
    }

    [Fact]
    public void NonPlusScramCreatedBesidePlusRefusesTheYFlag()
    {
        var r = Registry(Parameters.Defaults());
        var m = r.Create("SCRAM-SHA-256", Bound)!;
        Assert.Equal(SaslStatus.Failure, m.Step("y,,n=ann@example.org,r=abc"u8).Status);
    }
}
