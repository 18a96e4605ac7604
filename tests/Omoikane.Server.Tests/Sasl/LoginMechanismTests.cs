using System.Text;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class LoginMechanismTests
{
    [Fact]
    public void AsksUsernameThenPassword()
    {
        var m = new LoginMechanism(TestUsers.Store());
        var s1 = m.Step([]);
        Assert.Equal(SaslStatus.Continue, s1.Status);
        Assert.Equal("Username:", Encoding.ASCII.GetString(s1.Challenge!));
        var s2 = m.Step("joe@example.org"u8);
        Assert.Equal(SaslStatus.Continue, s2.Status);
        Assert.Equal("Password:", Encoding.ASCII.GetString(s2.Challenge!));
        Assert.Equal(SaslStatus.Success, m.Step("tanstaaftanstaaf"u8).Status);
        Assert.Equal(TestUsers.Joe, m.AuthenticatedUser);
    }

    [Fact]
    public void InitialResponseIsTheUsername()
    {
        var m = new LoginMechanism(TestUsers.Store());
        var s1 = m.Step("joe@example.org"u8);
        Assert.Equal("Password:", Encoding.ASCII.GetString(s1.Challenge!));
        Assert.Equal(SaslStatus.Success, m.Step("tanstaaftanstaaf"u8).Status);
    }

    [Theory]
    [InlineData("joe@example.org", "wrong")]
    [InlineData("ghost@example.org", "tanstaaftanstaaf")]
    [InlineData("joe@example.org", "tanstaaftanstaaf\0")]
    public void WrongCredentialsFail(string user, string password)
    {
        var m = new LoginMechanism(TestUsers.Store());
        m.Step(Encoding.UTF8.GetBytes(user));
        Assert.Equal(SaslStatus.Failure, m.Step(Encoding.UTF8.GetBytes(password)).Status);
        Assert.Null(m.AuthenticatedUser);
    }

    [Fact]
    public void EmptyAnswersFail()
    {
        var m = new LoginMechanism(TestUsers.Store());
        m.Step([]);
        Assert.Equal(SaslStatus.Failure, m.Step([]).Status);

        m = new LoginMechanism(TestUsers.Store());
        m.Step("joe@example.org"u8);
        Assert.Equal(SaslStatus.Failure, m.Step([]).Status);
    }

    [Fact]
    public void InvalidUtf8UsernameFails()
    {
        var m = new LoginMechanism(TestUsers.Store());
        Assert.Equal(SaslStatus.Failure, m.Step([0xFF, 0xFE]).Status);
    }
}
