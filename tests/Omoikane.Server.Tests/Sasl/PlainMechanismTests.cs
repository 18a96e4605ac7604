using System.Text;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class PlainMechanismTests
{
    private static SaslStep Run(string message, out PlainMechanism m)
    {
        m = new PlainMechanism(TestUsers.Store());
        return m.Step(Encoding.UTF8.GetBytes(message));
    }

    [Fact]
    public void InitialResponseWithRightPasswordSucceeds()
    {
        var step = Run("\0joe@example.org\0tanstaaftanstaaf", out var m);
        Assert.Equal(SaslStatus.Success, step.Status);
        Assert.Equal(TestUsers.Joe, m.AuthenticatedUser);
        Assert.True(m.Plaintext);
    }

    [Fact]
    public void LoginNameIsCaseInsensitiveAndReportedCanonically()
    {
        Assert.Equal(SaslStatus.Success, Run("\0JOE@Example.Org\0tanstaaftanstaaf", out var m).Status);
        Assert.Equal(TestUsers.Joe, m.AuthenticatedUser);
    }

    [Fact]
    public void WithoutInitialResponseAnEmptyChallengeComesFirst()
    {
        var m = new PlainMechanism(TestUsers.Store());
        var first = m.Step([]);
        Assert.Equal(SaslStatus.Continue, first.Status);
        Assert.Empty(first.Challenge!);
        Assert.Equal(SaslStatus.Success, m.Step("\0joe@example.org\0tanstaaftanstaaf"u8).Status);
    }

    [Fact]
    public void SecondEmptyMessageFails()
    {
        var m = new PlainMechanism(TestUsers.Store());
        m.Step([]);
        Assert.Equal(SaslStatus.Failure, m.Step([]).Status);
    }

    [Theory]
    [InlineData("\0joe@example.org\0wrong")]
    [InlineData("\0ghost@example.org\0tanstaaftanstaaf")]
    [InlineData("\0joe@example.org\0tanstaaftanstaa")]
    [InlineData("\0ann@example.org\0tanstaaftanstaaf")]
    public void WrongPasswordOrUnknownUserFails(string message)
    {
        var step = Run(message, out var m);
        Assert.Equal(SaslStatus.Failure, step.Status);
        Assert.Null(m.AuthenticatedUser);
    }

    [Fact]
    public void AuthzidEqualToAuthcidIsAccepted()
        => Assert.Equal(SaslStatus.Success, Run("Joe@example.org\0joe@example.org\0tanstaaftanstaaf", out _).Status);

    [Fact]
    public void AuthzidOfAnotherUserIsRejected()
    {
        var step = Run("ann@example.org\0joe@example.org\0tanstaaftanstaaf", out var m);
        Assert.Equal(SaslStatus.Failure, step.Status);
        Assert.Null(m.AuthenticatedUser);
    }

    [Theory]
    [InlineData("joe@example.org tanstaaftanstaaf")]            // no NUL
    [InlineData("joe@example.org\0tanstaaftanstaaf")]           // one NUL
    [InlineData("\0joe@example.org\0tanstaaf\0taaf")]           // extra NUL in the password
    [InlineData("\0joe@example.org\0tanstaaftanstaaf\0")]       // trailing NUL
    [InlineData("\0\0tanstaaftanstaaf")]                        // empty authcid
    [InlineData("\0joe@example.org\0")]                         // empty password
    [InlineData("\0\0\0")]
    public void MalformedMessagesFail(string message) => Assert.Equal(SaslStatus.Failure, Run(message, out _).Status);

    [Fact]
    public void EveryTruncationOfAValidMessageFails()
    {
        var message = "\0joe@example.org\0tanstaaftanstaaf"u8.ToArray();
        for (int n = 1; n < message.Length; n++)
        {
            var m = new PlainMechanism(TestUsers.Store());
            Assert.Equal(SaslStatus.Failure, m.Step(message.AsSpan(0, n)).Status);
        }
    }

    [Fact]
    public void InvalidUtf8Fails()
    {
        var m = new PlainMechanism(TestUsers.Store());
        Assert.Equal(SaslStatus.Failure, m.Step([0, (byte)'j', 0, 0xC3, 0x28]).Status);
    }

    [Fact]
    public void StoreFailureIsTemporary()
    {
        var m = new PlainMechanism(new BrokenStore());
        Assert.Equal(SaslStatus.TempFail, m.Step("\0joe@example.org\0x"u8).Status);
    }

    [Fact]
    public void NoStepsAfterCompletion()
    {
        Run("\0joe@example.org\0tanstaaftanstaaf", out var m);
        Assert.True(m.IsCompleted);
        Assert.Equal(SaslStatus.Failure, m.Step("\0joe@example.org\0tanstaaftanstaaf"u8).Status);
    }
}
