using System.Text;
using Omoikane.Mail.Pickup;

namespace Omoikane.Mail.Tests.Pickup;

public sealed class MaildropFileTests
{
    private static MaildropFile? Parse(string text, out string? error) => MaildropFile.TryParse(Encoding.UTF8.GetBytes(text), out error);

    [Fact]
    public void RoundTripKeepsEnvelopeAndContentBytes()
    {
        var content = new byte[] { (byte)'S', (byte)':', (byte)' ', 0xE9, 0xFF, (byte)'\n', (byte)'\n', (byte)'x', (byte)'\n' };
        var file = new MaildropFile("a@example.test", "Full Name", ["b@example.test", "c@example.test"], content);
        var back = MaildropFile.TryParse(file.Serialize(), out var error);
        Assert.Null(error);
        Assert.Equal("a@example.test", back!.Sender);
        Assert.Equal("Full Name", back.FullName);
        Assert.Equal(["b@example.test", "c@example.test"], back.Recipients);
        Assert.Equal(content, back.Content.ToArray());
    }

    [Theory]
    [InlineData("garbage\nR a@b\n\nx", "not a maildrop file")]
    [InlineData("OMOIKANE-MAILDROP 1\nS a@b\n\nx", "no recipients")]
    [InlineData("OMOIKANE-MAILDROP 1\nR a@b\nS x@y\nS z@y\n\nx", "unexpected envelope line 4")]
    [InlineData("OMOIKANE-MAILDROP 1\nX a@b\n\nx", "unexpected envelope line 2")]
    [InlineData("OMOIKANE-MAILDROP 1\nR a@b\u001b[2J\n\nx", "malformed envelope line 2")]
    [InlineData("OMOIKANE-MAILDROP 1\nR a@b\rR c@d\n\nx", "malformed envelope line 2")]
    [InlineData("OMOIKANE-MAILDROP 1\nR\n\nx", "malformed envelope line 2")]
    [InlineData("OMOIKANE-MAILDROP 1\nR a@b", "no end of envelope")]
    public void MalformedFilesAreRefusedWithTheReason(string text, string reason)
    {
        Assert.Null(Parse(text, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void EnvelopeThatIsNotUtf8IsRefused()
    {
        byte[] bytes = [.. "OMOIKANE-MAILDROP 1\nR a"u8, 0xFF, .. "@b\n\nx"u8];
        Assert.Null(MaildropFile.TryParse(bytes, out var error));
        Assert.Equal("envelope line 2 is not UTF-8", error);
    }

    [Theory]
    [InlineData("alice", "alice@host.example")]
    [InlineData("<bob@example.test>", "bob@example.test")]
    [InlineData(" carol@example.test ", "carol@example.test")]
    [InlineData("a b@example.test", null)]
    [InlineData("x@", null)]
    [InlineData("", null)]
    [InlineData("a\u0007@example.test", null)]
    public void QualifyAppendsMyoriginAndRefusesBadSyntax(string text, string? expected)
        => Assert.Equal(expected, MaildropFile.Qualify(text, "host.example"));
}

public sealed class MessageHeaderTests
{
    private static MessageHeader Parse(string s) => MessageHeader.Parse(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void RecipientsComeFromToCcAndBccIncludingGroupsAndFoldedLines()
    {
        var h = Parse("From: me@example.test\nTo: Alice <alice@example.test>,\n bob@example.test\nCc: team: carol@example.test, dave@example.test;\nBcc: erin@example.test\nSubject: To: not@example.test\n\nTo: body@example.test\n");
        Assert.Equal(["alice@example.test", "bob@example.test", "carol@example.test", "dave@example.test", "erin@example.test"], h.Recipients());
    }

    [Fact]
    public void ResentFieldsReplaceTheOriginalRecipients()
    {
        var h = Parse("To: old@example.test\nResent-To: new@example.test\nResent-Bcc: hidden@example.test\n\nx\n");
        Assert.Equal(["new@example.test", "hidden@example.test"], h.Recipients());
    }

    [Fact]
    public void BodyStartsAfterTheEmptyLineOrAtTheFirstLineThatIsNoField()
    {
        var text = "Subject: a\n\nbody\n";
        Assert.Equal(text.IndexOf("body", StringComparison.Ordinal), Parse(text).BodyStart);
        var noBlank = "Subject: a\nthis is no field\n";
        Assert.Equal(noBlank.IndexOf("this", StringComparison.Ordinal), Parse(noBlank).BodyStart);
        Assert.Single(Parse(noBlank).Fields);
    }
}
