using Omoikane.Cli;

namespace Omoikane.EndToEnd.Tests.Sendmail;

/// <summary>Postfix sendmail(1)'s command line: grouped flags, values attached or apart, ignored options.</summary>
public sealed class SendmailOptionsTests
{
    [Fact]
    public void GroupedFlagsAndAttachedValuesAreReadAsGetoptDoes()
    {
        var o = SendmailOptions.Parse("sendmail", ["-ti", "-fcron@example.test", "-F", "Cron Daemon", "-oem", "-odb", "-N", "never", "a@example.test", "b"]);
        Assert.True(o.ExtractRecipients);
        Assert.True(o.IgnoreDots);
        Assert.Equal("cron@example.test", o.Sender);
        Assert.Equal("Cron Daemon", o.FullName);
        Assert.Equal(["a@example.test", "b"], o.Recipients);
        Assert.Equal('m', o.Mode);
    }

    [Theory]
    [InlineData("-bp", 'p')]
    [InlineData("-bi", 'i')]
    [InlineData("-I", 'i')]
    [InlineData("-bs", 's')]
    [InlineData("-q", 'q')]
    [InlineData("-q30m", 'q')]
    [InlineData("-bm", 'm')]
    public void ModesFollowPostfix(string arg, char mode) => Assert.Equal(mode, SendmailOptions.Parse("sendmail", [arg]).Mode);

    [Fact]
    public void OiIgnoresDotsAndDoubleDashEndsOptions()
    {
        var o = SendmailOptions.Parse("sendmail", ["-oi", "--", "-not-an-option@example.test"]);
        Assert.True(o.IgnoreDots);
        Assert.Equal(["-not-an-option@example.test"], o.Recipients);
    }

    [Fact]
    public void MissingValueAndUnknownOptionAreUsageErrors()
    {
        var missing = Assert.Throws<CliException>(() => SendmailOptions.Parse("sendmail", ["-f"]));
        Assert.Equal(("sendmail: option requires an argument -- 'f'\nsendmail: fatal: usage: sendmail [options]", 64), (missing.Message, missing.ExitCode));
        var unknown = Assert.Throws<CliException>(() => SendmailOptions.Parse("mailq", ["-k"]));
        Assert.Equal("mailq: invalid option -- 'k'\nmailq: fatal: usage: mailq [options]", unknown.Message);
    }
}
