using System.Security.Cryptography;
using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// SCRAM-SHA-256 and SCRAM-SHA-256-PLUS, server side (RFC 5802, RFC 7677). The -PLUS variant binds the
/// exchange to the TLS channel with "tls-exporter" (RFC 9266) or "tls-server-end-point" (RFC 5929 §4),
/// whichever the <see cref="SaslContext"/> supplies. Success carries the server-final message
/// ("v=ServerSignature"), proving to the client that the server knows its verifier.
/// Unknown users get a stable fake salt and fail only at the proof, as a wrong password does.
/// </summary>
public sealed class ScramSha256Mechanism : SaslMechanism
{
    public const string TlsExporter = "tls-exporter";
    public const string TlsServerEndPoint = "tls-server-end-point";

    // Fake salts for unknown users when no persistent secret is given: stable for one process only.
    private static readonly ScramFakeSalt ProcessFakeSalt = ScramFakeSalt.Ephemeral();

    private readonly IUserStore _users;
    private readonly SaslContext _context;
    private readonly bool _plus;
    private readonly bool _plusOffered;
    private readonly string? _fixedServerNonce;
    private readonly ScramFakeSalt _fakeSalt;

    private int _state;           // 0 awaiting client-first, 1 awaiting client-final
    private bool _prompted;
    private string _gs2Header = "";
    private byte[] _channelBinding = [];
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";
    private UserRecord? _user;
    private ScramCredential? _credential;

    /// <param name="plus">This is SCRAM-SHA-256-PLUS (channel binding required).</param>
    /// <param name="plusOffered">The server advertised -PLUS alongside, so a "y" flag means a downgrade (RFC 5802 §6).</param>
    /// <param name="fakeSalt">Salts for unknown users (persisted across restarts by the server); null: one for this process.</param>
    public ScramSha256Mechanism(IUserStore users, SaslContext context, bool plus, bool plusOffered, ScramFakeSalt? fakeSalt = null)
        : this(users, context, plus, plusOffered, null, fakeSalt) { }

    /// <summary>With a fixed server nonce: RFC test vectors only.</summary>
    internal ScramSha256Mechanism(IUserStore users, SaslContext context, bool plus, bool plusOffered, string? serverNonce, ScramFakeSalt? fakeSalt = null)
    {
        _fakeSalt = fakeSalt ?? ProcessFakeSalt;
        _users = users;
        _context = context;
        _plus = plus;
        _plusOffered = plus || plusOffered;
        _fixedServerNonce = serverNonce;
    }

    public override string Name => _plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";

    protected override SaslStep StepCore(ReadOnlySpan<byte> response)
    {
        if (_state == 0)
        {
            if (response.IsEmpty)
            {
                // RFC 5802 §5: the client speaks first; without an initial response send an empty challenge.
                if (_prompted) return SaslStep.Fail("empty SCRAM client-first message");
                _prompted = true;
                return new SaslStep(SaslStatus.Continue, []);
            }
            return ClientFirst(response);
        }
        return ClientFinal(response);
    }

    private SaslStep ClientFirst(ReadOnlySpan<byte> response)
    {
        if (!TryDecodeUtf8(response, out var text)) return Error("other-error", "client-first is not UTF-8");

        // RFC 5802 §7: gs2-header = gs2-cbind-flag "," [ authzid ] ","
        int c1 = text.IndexOf(',');
        if (c1 < 0) return Error("other-error", "bad gs2 header");
        int c2 = text.IndexOf(',', c1 + 1);
        if (c2 < 0) return Error("other-error", "bad gs2 header");
        var flag = text[..c1];
        var authzidField = text[(c1 + 1)..c2];
        _gs2Header = text[..(c2 + 1)];
        _clientFirstBare = text[(c2 + 1)..];

        // RFC 5802 §6 and §7: gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
        if (flag.StartsWith("p=", StringComparison.Ordinal))
        {
            var cbName = flag[2..];
            if (cbName.Length == 0 || !cbName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-'))
                return Error("other-error", "bad channel binding name");
            if (!_plus) return Error("other-error", "channel binding requested on the non-PLUS mechanism");
            byte[]? data = cbName switch
            {
                TlsExporter => _context.TlsExporter,
                TlsServerEndPoint => _context.TlsServerEndPoint,
                _ => null,
            };
            if (data is null) return Error("unsupported-channel-binding-type", $"channel binding type {cbName} not available");
            _channelBinding = data;
        }
        else if (flag == "n" || flag == "y")
        {
            if (_plus) return Error("other-error", "SCRAM-SHA-256-PLUS requires channel binding");
            // §6: "y" means the client could bind but thinks we cannot; we advertised -PLUS, so someone stripped it.
            if (flag == "y" && _plusOffered) return Error("server-does-support-channel-binding", "channel binding downgrade");
        }
        else return Error("other-error", "bad gs2 channel binding flag");

        string? authzid = null;
        if (authzidField.Length > 0)
        {
            if (!authzidField.StartsWith("a=", StringComparison.Ordinal) || !TryDecodeSaslName(authzidField[2..], out authzid) || authzid.Length == 0)
                return Error("invalid-username-encoding", "bad authzid");
        }

        // RFC 5802 §7: client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
        var attributes = _clientFirstBare.Split(',');
        if (attributes[0].StartsWith("m=", StringComparison.Ordinal))
            return Error("extensions-not-supported", "mandatory extension");   // §5.1: must fail if not understood
        if (attributes.Length < 2 || !attributes[0].StartsWith("n=", StringComparison.Ordinal) || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
            return Error("other-error", "bad client-first message");
        if (!TryDecodeSaslName(attributes[0][2..], out var username) || username.Length == 0)
            return Error("invalid-username-encoding", "bad user name");
        var clientNonce = attributes[1][2..];
        if (!IsPrintable(clientNonce)) return Error("other-error", "bad client nonce");
        foreach (var ext in attributes.AsSpan(2))
            if (ext.Length < 2 || ext[1] != '=' || !char.IsAsciiLetter(ext[0])) return Error("other-error", "bad extension");

        try { username = SaslPrep.Prepare(username, "user name"); }   // §5.1: the user name is SASLprepped
        catch (ArgumentException) { return Error("invalid-username-encoding", "user name fails SASLprep"); }
        if (authzid is not null && !SameUser(authzid, username)) return Error("other-error", "authorization identity differs from user name");

        AttemptedUser = username;
        _user = _users.Find(username);
        _credential = _user?.Scram;
        ReadOnlySpan<byte> salt;
        int iterations;
        if (_credential is not null) { salt = _credential.Salt; iterations = _credential.Iterations; }
        else
        {
            salt = _fakeSalt.SaltFor(username);
            iterations = _fakeSalt.Iterations;
        }

        // §5.1: the server appends its own nonce; printable, no ",".
        _nonce = clientNonce + (_fixedServerNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)));
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(salt)},i={iterations}";
        _state = 1;
        return new SaslStep(SaslStatus.Continue, Encoding.UTF8.GetBytes(_serverFirst));
    }

    private SaslStep ClientFinal(ReadOnlySpan<byte> response)
    {
        if (!TryDecodeUtf8(response, out var text)) return Error("other-error", "client-final is not UTF-8");
        // RFC 5802 §7: client-final-message = client-final-message-without-proof "," proof
        int p = text.LastIndexOf(",p=", StringComparison.Ordinal);
        if (p < 0) return Error("other-error", "no proof");
        var withoutProof = text[..p];
        Span<byte> proof = stackalloc byte[ScramCredential.KeySize];
        if (!Convert.TryFromBase64String(text[(p + 3)..], proof, out int proofLength) || proofLength != ScramCredential.KeySize)
            return Error("invalid-proof", "bad proof encoding");

        // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
        var attributes = withoutProof.Split(',');
        if (attributes.Length < 2 || !attributes[0].StartsWith("c=", StringComparison.Ordinal) || !attributes[1].StartsWith("r=", StringComparison.Ordinal))
            return Error("other-error", "bad client-final message");

        // §7: c = base64(gs2-header [cbind-data]); must repeat the header and carry the channel's data for "p=".
        var expected = new byte[Encoding.UTF8.GetByteCount(_gs2Header) + _channelBinding.Length];
        int n = Encoding.UTF8.GetBytes(_gs2Header, expected);
        _channelBinding.CopyTo(expected, n);
        byte[] cbind;
        try { cbind = Convert.FromBase64String(attributes[0][2..]); }
        catch (FormatException) { return Error("other-error", "bad channel binding encoding"); }
        if (!CryptographicOperations.FixedTimeEquals(cbind, expected))
            return Error(_channelBinding.Length > 0 ? "channel-bindings-dont-match" : "other-error", "channel binding mismatch");

        if (!string.Equals(attributes[1][2..], _nonce, StringComparison.Ordinal)) return Error("other-error", "nonce mismatch");

        // §3: AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof
        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        var storedKey = _credential is not null ? _credential.StoredKey.ToArray() : new byte[ScramCredential.KeySize];
        Span<byte> clientSignature = stackalloc byte[ScramCredential.KeySize];
        Span<byte> clientKey = stackalloc byte[ScramCredential.KeySize];
        Span<byte> computedStoredKey = stackalloc byte[ScramCredential.KeySize];
        HMACSHA256.HashData(storedKey, authMessage, clientSignature);      // ClientSignature = HMAC(StoredKey, AuthMessage)
        for (int i = 0; i < clientKey.Length; i++) clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);   // ClientKey = ClientProof XOR ClientSignature
        SHA256.HashData(clientKey, computedStoredKey);
        bool ok = CryptographicOperations.FixedTimeEquals(computedStoredKey, storedKey);
        CryptographicOperations.ZeroMemory(clientKey);
        if (!ok || _credential is null || _user is null) return Error("invalid-proof", "authentication failed");

        // §3: ServerSignature = HMAC(ServerKey, AuthMessage); server-final-message = "v=" base64(ServerSignature)
        var serverSignature = HMACSHA256.HashData(_credential.ServerKey, authMessage);
        AuthenticatedUser = _user.Address;
        return new SaslStep(SaslStatus.Success, Encoding.ASCII.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
    }

    /// <summary>RFC 5802 §7 server-error: "e=" value, returned as Failure data.</summary>
    private static SaslStep Error(string value, string reason)
        => new(SaslStatus.Failure, Encoding.ASCII.GetBytes("e=" + value), reason);

    /// <summary>RFC 5802 §5.1: saslname escapes "," as "=2C" and "=" as "=3D"; any other "=" is an error.</summary>
    internal static bool TryDecodeSaslName(string value, out string name)
    {
        name = "";
        if (!value.Contains('=')) { name = value; return true; }
        var sb = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] != '=') { sb.Append(value[i]); continue; }
            if (i + 2 >= value.Length) return false;
            var code = value.AsSpan(i + 1, 2);
            if (code.SequenceEqual("2C")) sb.Append(',');
            else if (code.SequenceEqual("3D")) sb.Append('=');
            else return false;
            i += 2;
        }
        name = sb.ToString();
        return true;
    }

    // RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ",")
    private static bool IsPrintable(string s) => s.Length > 0 && s.All(c => c is >= '!' and <= '~' && c != ',');

    private static bool SameUser(string a, string b)
    {
        var ca = UserAddress.TryNormalize(a, out var x, out _) ? x : a;
        var cb = UserAddress.TryNormalize(b, out var y, out _) ? y : b;
        return UserAddress.Comparer.Equals(ca, cb);
    }

    protected override void Dispose(bool disposing)
    {
        _credential = null;
        _user = null;
    }
}
