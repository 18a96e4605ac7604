using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// PLAIN (RFC 4616): one client message "[authzid] NUL authcid NUL passwd". An authorization identity,
/// if given, must name the same user: acting for someone else is not supported.
/// </summary>
public sealed class PlainMechanism(IUserStore users) : SaslMechanism
{
    private bool _prompted;

    public override string Name => "PLAIN";
    public override bool Plaintext => true;

    protected override SaslStep StepCore(ReadOnlySpan<byte> response)
    {
        if (response.IsEmpty)
        {
            // RFC 4616 §2 / RFC 4422 §5: no initial response → an empty challenge, then the message.
            if (_prompted) return SaslStep.Fail("empty PLAIN message");
            _prompted = true;
            return new SaslStep(SaslStatus.Continue, []);
        }

        // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd; none of the three contains NUL.
        int first = response.IndexOf((byte)0);
        if (first < 0) return SaslStep.Fail("malformed PLAIN message: no NUL");
        var rest = response[(first + 1)..];
        int second = rest.IndexOf((byte)0);
        if (second < 0) return SaslStep.Fail("malformed PLAIN message: one NUL");
        var authzidBytes = response[..first];
        var authcidBytes = rest[..second];
        var passwdBytes = rest[(second + 1)..];
        if (authcidBytes.IsEmpty || passwdBytes.IsEmpty) return SaslStep.Fail("malformed PLAIN message: empty authcid or password");
        if (!TryDecodeUtf8(authzidBytes, out var authzid) || !TryDecodeUtf8(authcidBytes, out var authcid)
            || !TryDecodeUtf8(passwdBytes, out var password))
            return SaslStep.Fail("malformed PLAIN message: extra NUL or invalid UTF-8");

        AttemptedUser = authcid;
        var user = users.Find(authcid);
        bool ok = PasswordVerifier.VerifyPassword(user, password);   // same work for unknown users
        if (!ok || user is null) return SaslStep.Fail("authentication failed");
        // RFC 4616 §2: the server verifies that authcid may act as authzid; here only as itself.
        if (authzid.Length > 0 && !UserAddress.Comparer.Equals(Canonical(authzid), user.Address))
            return SaslStep.Fail("authorization identity differs from authentication identity");
        AuthenticatedUser = user.Address;
        return new SaslStep(SaslStatus.Success);
    }

    private static string Canonical(string address)
        => UserAddress.TryNormalize(address, out var canonical, out _) ? canonical : "\0invalid";
}
