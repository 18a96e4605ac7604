using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public class PasswordVerifierTests
{
    private static readonly CredentialOptions Fast = new() { ScramIterations = 4096 };

    [Fact]
    public void ApopDigestFromRfc1939ExampleVerifies()
    {
        // RFC 1939 §7: <1896.697170952@dbc.mtview.ca.us> + "tanstaaf"
        var user = UserRecord.Create("mrose@dbc.mtview.ca.us", "tanstaaf", Fast);
        Assert.True(PasswordVerifier.VerifyApop(user, "<1896.697170952@dbc.mtview.ca.us>", "c4c9334bac560ecc979e58001b3e22fb"));
        Assert.True(PasswordVerifier.VerifyApop(user, "<1896.697170952@dbc.mtview.ca.us>", "C4C9334BAC560ECC979E58001B3E22FB"));
    }

    [Theory]
    [InlineData("<1896.697170952@dbc.mtview.ca.us>", "c4c9334bac560ecc979e58001b3e22fa")]   // one bit off
    [InlineData("<1896.697170953@dbc.mtview.ca.us>", "c4c9334bac560ecc979e58001b3e22fb")]   // other timestamp
    [InlineData("<1896.697170952@dbc.mtview.ca.us>", "c4c9334bac560ecc979e58001b3e22f")]    // short
    [InlineData("<1896.697170952@dbc.mtview.ca.us>", "c4c9334bac560ecc979e58001b3e22fbz")]
    [InlineData("<1896.697170952@dbc.mtview.ca.us>", "g4c9334bac560ecc979e58001b3e22fb")]
    public void ApopRejectsWrongOrMalformedDigest(string timestamp, string digest)
    {
        var user = UserRecord.Create("mrose@dbc.mtview.ca.us", "tanstaaf", Fast);
        Assert.False(PasswordVerifier.VerifyApop(user, timestamp, digest));
    }

    [Fact]
    public void ApopFailsWhenNoSecretIsStored()
    {
        var user = UserRecord.Create("mrose@dbc.mtview.ca.us", "tanstaaf", Fast with { StorePlaintextForApop = false });
        Assert.Null(user.ApopSecret);
        // MD5(timestamp + "") must not pass either.
        var emptySecretDigest = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("<1.2@h>"u8));
        Assert.False(PasswordVerifier.VerifyApop(user, "<1.2@h>", emptySecretDigest));
        Assert.False(PasswordVerifier.VerifyApop(user, "<1896.697170952@dbc.mtview.ca.us>", "c4c9334bac560ecc979e58001b3e22fb"));
        Assert.False(PasswordVerifier.VerifyApop(null, "<1.2@h>", emptySecretDigest));
    }

    [Fact]
    public void PlaintextPasswordCheck()
    {
        var user = UserRecord.Create("joe@example.org", "secret", Fast);
        Assert.True(PasswordVerifier.VerifyPassword(user, "secret"));
        Assert.False(PasswordVerifier.VerifyPassword(user, "Secret"));
        Assert.False(PasswordVerifier.VerifyPassword(null, "secret"));
    }
}
