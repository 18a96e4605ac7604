using System.Security.Cryptography;
using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public class CramMd5CredentialTests
{
    [Fact]
    public void StoredContextsReproduceRfc2195Example()
    {
        // RFC 2195 §2: joe / tanstaaftanstaaf / <1896.697170952@postoffice.reston.mci.net>
        var credential = CramMd5Credential.Derive("tanstaaftanstaaf");
        var digest = credential.ComputeDigest("<1896.697170952@postoffice.reston.mci.net>"u8);
        Assert.Equal("b913a602c7eda7a495b4e6e7334d3890", Convert.ToHexStringLower(digest));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("exactly-sixty-four-bytes-long-password-000000000000000000000000")]
    [InlineData("a password longer than the sixty-four byte HMAC block, so it is hashed first")]
    [InlineData("pässwörd ünïcode")]
    public void DigestEqualsPlatformHmacMd5(string password)
    {
        var challenge = "<12345.67890@mail.example.org>"u8.ToArray();
        var expected = HMACMD5.HashData(Encoding.UTF8.GetBytes(password), challenge);
        var credential = CramMd5Credential.Derive(password);
        Assert.Equal(expected, credential.ComputeDigest(challenge));
        Assert.True(credential.Verify(challenge, expected));
    }

    [Fact]
    public void VerifyRejectsWrongPasswordAndWrongLength()
    {
        var challenge = "<1.2@h>"u8.ToArray();
        var good = CramMd5Credential.Derive("right");
        var wrong = HMACMD5.HashData("wrong"u8, challenge);
        Assert.False(good.Verify(challenge, wrong));
        Assert.False(good.Verify(challenge, good.ComputeDigest(challenge).AsSpan(0, 15)));
    }

    [Fact]
    public void ContextsDoNotContainThePassword()
    {
        var credential = CramMd5Credential.Derive("tanstaaftanstaaf");
        var all = credential.Inner.ToArray().Concat(credential.Outer.ToArray()).ToArray();
        Assert.Equal(-1, all.AsSpan().IndexOf("tanstaaf"u8));
    }
}
