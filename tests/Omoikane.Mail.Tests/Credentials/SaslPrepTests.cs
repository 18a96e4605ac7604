using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public class SaslPrepTests
{
    [Theory]
    [InlineData("user", "user")]
    [InlineData("I\u00ADX", "IX")]            // RFC 4013 §3 example 1 (B.1 mapped to nothing)
    [InlineData("a\u00A0b", "a b")]            // C.1.2 non-ASCII space mapped to SPACE
    [InlineData("caf\u00E9", "caf\u00E9")]
    public void PreparesStrings(string input, string expected) => Assert.Equal(expected, SaslPrep.Prepare(input, "password"));

    [Theory]
    [InlineData("\u0007")]      // RFC 4013 §3 example 5: prohibited
    [InlineData("a\u0000b")]
    [InlineData("\uE000")]      // private use
    [InlineData("\uFFFF")]      // non-character
    [InlineData("\uD800x")]     // unpaired surrogate
    [InlineData("")]
    [InlineData("\u00AD")]      // empty after mapping
    public void RefusesProhibitedOrEmpty(string input)
        => Assert.Throws<ArgumentException>(() => SaslPrep.Prepare(input, "password"));
}
