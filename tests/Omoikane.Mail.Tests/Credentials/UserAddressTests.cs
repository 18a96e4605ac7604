using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public class UserAddressTests
{
    [Theory]
    [InlineData("joe@example.org", "joe@example.org")]
    [InlineData("Joe.Smith@EXAMPLE.Org", "Joe.Smith@example.org")]
    [InlineData("user+tag@localhost", "user+tag@localhost")]
    public void NormalizesValidAddresses(string input, string expected) => Assert.Equal(expected, UserAddress.Normalize(input));

    [Theory]
    [InlineData("")]
    [InlineData("joe")]
    [InlineData("@example.org")]
    [InlineData("joe@")]
    [InlineData("joe@@example.org")]
    [InlineData("jo e@example.org")]
    [InlineData("joe:x@example.org")]
    [InlineData(".joe@example.org")]
    [InlineData("joe@exa_mple.org")]
    [InlineData("joe@example.org.")]
    [InlineData("joe@[192.0.2.1]")]
    [InlineData("jö@example.org")]
    [InlineData("joe@example.org\n")]
    [InlineData("a/b@example.org")]
    [InlineData("/@example.org")]
    public void RejectsInvalidAddressesWithOneLineMessage(string input)
    {
        var ex = Assert.Throws<UserStoreException>(() => UserAddress.Normalize(input));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.NotEmpty(ex.Message);
    }

    [Fact]
    public void RejectsOverlongLocalPart() => Assert.False(UserAddress.TryNormalize(new string('a', 65) + "@example.org", out _, out _));
}
