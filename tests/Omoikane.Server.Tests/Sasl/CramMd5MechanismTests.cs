using System.Security.Cryptography;
using System.Text;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class CramMd5MechanismTests
{
    private const string Rfc2195Challenge = "<1896.697170952@postoffice.reston.mci.net>";

    [Fact]
    public void Rfc2195ExampleAuthenticates()
    {
        // RFC 2195 §2: the digest depends only on the secret and the challenge.
        var m = new CramMd5Mechanism(TestUsers.Store(), Rfc2195Challenge);
        Assert.True(m.ServerFirst);
        var challenge = m.Step([]);
        Assert.Equal(SaslStatus.Continue, challenge.Status);
        Assert.Equal(Rfc2195Challenge, Encoding.ASCII.GetString(challenge.Challenge!));
        var step = m.Step("joe@example.org b913a602c7eda7a495b4e6e7334d3890"u8);
        Assert.Equal(SaslStatus.Success, step.Status);
        Assert.Equal(TestUsers.Joe, m.AuthenticatedUser);
    }

    [Fact]
    public void ChallengesAreUniqueAndCarryTheHostname()
    {
        var context = new SaslContext("mail.example.org");
        var a = Encoding.ASCII.GetString(new CramMd5Mechanism(TestUsers.Store(), context).Step([]).Challenge!);
        var b = Encoding.ASCII.GetString(new CramMd5Mechanism(TestUsers.Store(), context).Step([]).Challenge!);
        Assert.NotEqual(a, b);
        Assert.Matches(@"^<\d+\.\d+@mail\.example\.org>$", a);
    }

    [Fact]
    public void ReplayedResponseFailsAgainstANewChallenge()
    {
        var store = TestUsers.Store();
        var context = new SaslContext("mail.example.org");
        var first = new CramMd5Mechanism(store, context);
        var challenge = first.Step([]).Challenge!;
        var response = Encoding.ASCII.GetBytes("joe@example.org " + Convert.ToHexStringLower(HMACMD5.HashData("tanstaaftanstaaf"u8, challenge)));
        Assert.Equal(SaslStatus.Success, first.Step(response).Status);

        var second = new CramMd5Mechanism(store, context);
        second.Step([]);
        Assert.Equal(SaslStatus.Failure, second.Step(response).Status);
    }

    [Fact]
    public void UppercaseHexIsAccepted()
    {
        var m = new CramMd5Mechanism(TestUsers.Store(), Rfc2195Challenge);
        m.Step([]);
        Assert.Equal(SaslStatus.Success, m.Step("joe@example.org B913A602C7EDA7A495B4E6E7334D3890"u8).Status);
    }

    [Theory]
    [InlineData("joe@example.org b913a602c7eda7a495b4e6e7334d3891")]   // wrong digest
    [InlineData("ann@example.org b913a602c7eda7a495b4e6e7334d3890")]   // other user's name
    [InlineData("ghost@example.org b913a602c7eda7a495b4e6e7334d3890")]
    [InlineData("b913a602c7eda7a495b4e6e7334d3890")]                   // no user
    [InlineData("joe@example.org")]                                     // no digest
    [InlineData("joe@example.org b913a602c7eda7a495b4e6e7334d389")]    // truncated digest
    [InlineData("joe@example.org b913a602c7eda7a495b4e6e7334d3890 ")]  // trailing space
    [InlineData("joe@example.org b913a602c7eda7a495b4e6e7334d38zz")]
    [InlineData(" b913a602c7eda7a495b4e6e7334d3890")]
    [InlineData("joe@example.org\0b913a602c7eda7a495b4e6e7334d3890")]
    public void WrongOrMalformedResponsesFail(string response)
    {
        var m = new CramMd5Mechanism(TestUsers.Store(), Rfc2195Challenge);
        m.Step([]);
        Assert.Equal(SaslStatus.Failure, m.Step(Encoding.UTF8.GetBytes(response)).Status);
        Assert.Null(m.AuthenticatedUser);
    }

    [Fact]
    public void InitialResponseIsRefused()
    {
        var m = new CramMd5Mechanism(TestUsers.Store(), Rfc2195Challenge);
        Assert.Equal(SaslStatus.Failure, m.Step("joe@example.org b913a602c7eda7a495b4e6e7334d3890"u8).Status);
    }

    [Fact]
    public void EveryTruncationOfTheResponseFails()
    {
        var response = "joe@example.org b913a602c7eda7a495b4e6e7334d3890"u8.ToArray();
        for (int n = 0; n < response.Length; n++)
        {
            var m = new CramMd5Mechanism(TestUsers.Store(), Rfc2195Challenge);
            m.Step([]);
            Assert.Equal(SaslStatus.Failure, m.Step(response.AsSpan(0, n)).Status);
        }
    }

    [Fact]
    public void InteroperatesWithMailKitClient()
    {
        var m = new CramMd5Mechanism(TestUsers.Store(), new SaslContext("mail.example.org"));
        var client = new MailKit.Security.SaslMechanismCramMd5(new System.Net.NetworkCredential(TestUsers.Joe, TestUsers.JoePassword));
        var challenge = Convert.ToBase64String(m.Step([]).Challenge!);
        var answer = Convert.FromBase64String(client.Challenge(challenge));
        Assert.Equal(SaslStatus.Success, m.Step(answer).Status);
    }
}
