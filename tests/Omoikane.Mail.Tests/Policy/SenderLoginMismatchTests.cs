using Omoikane.Mail.Config;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using static Omoikane.Mail.Tests.Policy.PolicyTestHelper;

namespace Omoikane.Mail.Tests.Policy;

/// <summary>reject_*_sender_login_mismatch: compiled (not a configuration error), keys of smtpd_sender_login_maps, and the warning without maps.</summary>
public class SenderLoginMismatchTests
{
    private const string Base = "mydestination = example.test\nmyhostname = mail.example.test\nrecipient_delimiter = +\n";

    [Fact]
    public async Task ExtensionLocalPartAndDomainKeysFindTheOwner()
    {
        var p = Build(Base + "smtpd_sender_login_maps = inline:{joe@example.test=joe@example.test, @corp.test=ann@example.test, ann=ann@example.test}\n"
            + "smtpd_sender_restrictions = reject_sender_login_mismatch\n");
        Task<string> As(string? login, string from) => Rcpt(p, Ctx(from: from, to: "joe@example.test") with { SaslUsername = login });
        Assert.Equal("accept", await As("joe@example.test", "joe+list@example.test"));
        Assert.Equal("accept", await As("ann@example.test", "x@corp.test"));
        Assert.Equal("accept", await As("ann@example.test", "ann@example.test"));   // bare key for a local domain
        Assert.Equal("553 5.7.1 <joe@example.test>: Sender address rejected: not owned by user ANN@example.test",
            await As("ANN@example.test", "joe@example.test"));
        Assert.Equal("accept", await As(null, ""));   // the null sender is not checked
    }

    [Fact]
    public void WithoutMapsTheRestrictionIsIgnoredWithAWarning()
    {
        var diags = new ConfigDiagnostics();
        SmtpdPolicy.Create(new PolicyOptions
        {
            Parameters = Params(Base + "smtpd_sender_restrictions = reject_sender_login_mismatch\n"), Tables = new TableFactory(),
        }, diags);
        Assert.False(diags.HasErrors);
        Assert.Contains(diags.Items, d => d.Message == "smtpd_sender_restrictions: restriction \"reject_sender_login_mismatch\" ignored: no definition for smtpd_sender_login_maps");
    }
}
