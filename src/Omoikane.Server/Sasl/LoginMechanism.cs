using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// LOGIN (draft-murchison-sasl-login-00): the server asks "Username:" then "Password:", the client answers
/// each. An initial response (RFC 4954 §4) is taken as the user name.
/// </summary>
public sealed class LoginMechanism(IUserStore users) : SaslMechanism
{
    private static readonly byte[] UsernameChallenge = "Username:"u8.ToArray();
    private static readonly byte[] PasswordChallenge = "Password:"u8.ToArray();

    private int _state;   // 0 start, 1 asked user name, 2 asked password
    private string? _username;

    public override string Name => "LOGIN";
    public override bool Plaintext => true;

    protected override SaslStep StepCore(ReadOnlySpan<byte> response)
    {
        switch (_state)
        {
            case 0 when response.IsEmpty:
                _state = 1;
                return new SaslStep(SaslStatus.Continue, UsernameChallenge);
            case 0:
            case 1:
                if (response.IsEmpty) return SaslStep.Fail("empty LOGIN user name");
                if (!TryDecodeUtf8(response, out var name)) return SaslStep.Fail("malformed LOGIN user name");
                _username = name;
                AttemptedUser = name;
                _state = 2;
                return new SaslStep(SaslStatus.Continue, PasswordChallenge);
            default:
                if (response.IsEmpty) return SaslStep.Fail("empty LOGIN password");
                if (!TryDecodeUtf8(response, out var password)) return SaslStep.Fail("malformed LOGIN password");
                var user = users.Find(_username!);
                if (!PasswordVerifier.VerifyPassword(user, password) || user is null) return SaslStep.Fail("authentication failed");
                AuthenticatedUser = user.Address;
                return new SaslStep(SaslStatus.Success);
        }
    }
}
