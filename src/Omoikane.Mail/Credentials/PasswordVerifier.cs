using System.Security.Cryptography;
using System.Text;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// Checks of secrets a client presents outside SCRAM and CRAM-MD5: a plaintext password (SASL PLAIN
/// and LOGIN, POP3 USER/PASS) and a POP3 APOP digest. Both compare in constant time, and both do the
/// same work for an unknown user as for a known one so that timing does not tell which users exist.
/// </summary>
public static class PasswordVerifier
{
    // Stand-in verifier for unknown users: same cost as a real one made with the default options.
    private static readonly Lazy<ScramCredential> Decoy =
        new(() => ScramCredential.Create(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)), CredentialOptions.Default.ScramIterations));

    /// <summary>True when <paramref name="password"/> is the user's password.</summary>
    public static bool VerifyPassword(UserRecord? user, string password)
    {
        if (user?.Scram is { } scram) return scram.VerifyPassword(password);
        Decoy.Value.VerifyPassword(password);
        return false;
    }

    /// <summary>
    /// RFC 1939 §7: the digest is MD5(timestamp + secret) in lower-case hex, where timestamp is the
    /// whole "&lt;...&gt;" string from the greeting. False when no secret is kept for the user (APOP disabled).
    /// </summary>
    public static bool VerifyApop(UserRecord? user, string timestamp, string hexDigest)
    {
        Span<byte> offered = stackalloc byte[16];
        bool wellFormed = TryDecodeHex(hexDigest, offered);
        var secret = user?.ApopSecret ?? "";
        var input = Encoding.UTF8.GetBytes(timestamp + secret);
        Span<byte> expected = stackalloc byte[16];
        MD5.HashData(input, expected);
        CryptographicOperations.ZeroMemory(input);
        bool match = CryptographicOperations.FixedTimeEquals(expected, offered);
        return match & wellFormed & user?.ApopSecret is not null;
    }

    /// <summary>Decodes exactly 2 × destination.Length hex digits, either case.</summary>
    public static bool TryDecodeHex(ReadOnlySpan<char> hex, Span<byte> destination)
    {
        if (hex.Length != destination.Length * 2) { destination.Clear(); return false; }
        for (int i = 0; i < destination.Length; i++)
        {
            int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
            if ((hi | lo) < 0) { destination.Clear(); return false; }
            destination[i] = (byte)(hi << 4 | lo);
        }
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
