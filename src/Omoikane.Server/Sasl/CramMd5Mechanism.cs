using System.Security.Cryptography;
using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// CRAM-MD5 (RFC 2195): the server sends a unique challenge "&lt;random.timestamp@hostname&gt;", the client
/// answers "user SP hex(HMAC-MD5(secret, challenge))". Verified with the stored HMAC-MD5 contexts, never
/// the password. Each instance makes a new challenge, so a recorded response does not work twice.
/// </summary>
public sealed class CramMd5Mechanism : SaslMechanism
{
    private static readonly CramMd5Credential Decoy = CramMd5Credential.Derive(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)));

    private readonly IUserStore _users;
    private readonly byte[] _challenge;
    private bool _sent;

    public CramMd5Mechanism(IUserStore users, SaslContext context) : this(users, NewChallenge(context.Hostname)) { }

    /// <summary>With a fixed challenge: RFC test vectors only.</summary>
    internal CramMd5Mechanism(IUserStore users, string challenge)
    {
        _users = users;
        _challenge = Encoding.ASCII.GetBytes(challenge);
    }

    public override string Name => "CRAM-MD5";
    public override bool ServerFirst => true;

    /// <summary>RFC 2195 §2: "the presumptively arbitrary string ... a msg-id" (RFC 822); random part makes it unique.</summary>
    public static string NewChallenge(string hostname)
    {
        ulong random = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        long timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var host = string.IsNullOrEmpty(hostname) || hostname.Any(c => c <= ' ' || c >= 0x7f || c is '<' or '>') ? "localhost" : hostname;
        return $"<{random}.{timestamp}@{host}>";
    }

    protected override SaslStep StepCore(ReadOnlySpan<byte> response)
    {
        if (!_sent)
        {
            if (!response.IsEmpty) return SaslStep.Fail("CRAM-MD5 takes no initial response");
            _sent = true;
            return new SaslStep(SaslStatus.Continue, _challenge);
        }
        // RFC 2195 §2: the user name, a space, and 32 lower-case hex digits. The name may itself hold spaces.
        if (!TryDecodeUtf8(response, out var text)) return SaslStep.Fail("malformed CRAM-MD5 response");
        int space = text.LastIndexOf(' ');
        if (space <= 0) return SaslStep.Fail("malformed CRAM-MD5 response: no digest");
        Span<byte> digest = stackalloc byte[16];
        if (!PasswordVerifier.TryDecodeHex(text.AsSpan(space + 1), digest)) return SaslStep.Fail("malformed CRAM-MD5 response: bad digest");

        AttemptedUser = text[..space];
        var user = _users.Find(AttemptedUser);
        var credential = user?.CramMd5;
        bool ok = (credential ?? Decoy).Verify(_challenge, digest);
        if (!ok || credential is null || user is null) return SaslStep.Fail("authentication failed");
        AuthenticatedUser = user.Address;
        return new SaslStep(SaslStatus.Success);
    }
}
