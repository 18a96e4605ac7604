using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

/// <summary>smtpd_sasl_local_domain: a bare login name is qualified with the realm; a full address is left alone.</summary>
public class LoginRealmUserStoreTests
{
    [Fact]
    public void BareNamesAreQualifiedFullAddressesAreNot()
    {
        var inner = new MemoryUserStore();
        inner.Add("joe@example.test", "pw");
        inner.Add("joe@other.test", "pw2");
        var store = LoginRealmUserStore.Wrap(inner, "example.test");
        Assert.Equal("joe@example.test", store.Find("joe")?.Address);
        Assert.Equal("joe@other.test", store.Find("joe@other.test")?.Address);
        Assert.Null(store.Find("ann"));
        Assert.Same(inner, LoginRealmUserStore.Wrap(inner, " "));
        Assert.Null(inner.Find("joe"));
    }
}
