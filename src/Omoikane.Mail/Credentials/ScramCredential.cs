using System.Security.Cryptography;
using System.Text;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// SCRAM-SHA-256 verifier (RFC 5802 §3, RFC 7677): salt, iteration count, StoredKey and ServerKey.
/// The password is not recoverable from it except by guessing (each guess costs the iteration count
/// in PBKDF2 rounds). StoredKey lets an attacker check guesses; ServerKey lets one impersonate the
/// server to this user; neither lets one log in as the user without also seeing an exchange.
/// </summary>
public sealed class ScramCredential
{
    public const int KeySize = 32;       // SHA-256 output
    public const int MinIterations = 4096; // RFC 7677 §4: at least 4096

    private readonly byte[] _salt;
    private readonly byte[] _storedKey;
    private readonly byte[] _serverKey;

    public ScramCredential(int iterations, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> serverKey)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), "SCRAM iteration count must be positive.");
        if (salt.Length == 0) throw new ArgumentException("SCRAM salt is empty.", nameof(salt));
        if (storedKey.Length != KeySize || serverKey.Length != KeySize) throw new ArgumentException("SCRAM-SHA-256 keys are 32 bytes.");
        Iterations = iterations;
        _salt = salt.ToArray();
        _storedKey = storedKey.ToArray();
        _serverKey = serverKey.ToArray();
    }

    public int Iterations { get; }
    public ReadOnlySpan<byte> Salt => _salt;
    public ReadOnlySpan<byte> StoredKey => _storedKey;
    public ReadOnlySpan<byte> ServerKey => _serverKey;

    /// <summary>
    /// RFC 5802 §3: SaltedPassword = Hi(Normalize(password), salt, i); ClientKey = HMAC(SaltedPassword, "Client Key");
    /// StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key"). Normalize is SASLprep (<see cref="SaslPrep"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The password contains characters SASLprep prohibits.</exception>
    public static ScramCredential Derive(string password, ReadOnlySpan<byte> salt, int iterations)
    {
        Span<byte> salted = stackalloc byte[KeySize];
        Span<byte> clientKey = stackalloc byte[KeySize];
        Span<byte> storedKey = stackalloc byte[KeySize];
        Span<byte> serverKey = stackalloc byte[KeySize];
        SaltedPassword(password, salt, iterations, salted);
        HMACSHA256.HashData(salted, "Client Key"u8, clientKey);
        SHA256.HashData(clientKey, storedKey);
        HMACSHA256.HashData(salted, "Server Key"u8, serverKey);
        var result = new ScramCredential(iterations, salt, storedKey, serverKey);
        CryptographicOperations.ZeroMemory(salted);
        CryptographicOperations.ZeroMemory(clientKey);
        return result;
    }

    /// <summary>A new verifier with a fresh random salt.</summary>
    public static ScramCredential Create(string password, int iterations, int saltLength = 16)
        => Derive(password, RandomNumberGenerator.GetBytes(saltLength), iterations);

    /// <summary>Hi() of RFC 5802 §2.2 is PBKDF2 with HMAC-SHA-256 and a 32-byte output.</summary>
    public static void SaltedPassword(string password, ReadOnlySpan<byte> salt, int iterations, Span<byte> destination)
    {
        var prepared = SaslPrep.Prepare(password, "password");
        var bytes = Encoding.UTF8.GetBytes(prepared);
        try { Rfc2898DeriveBytes.Pbkdf2(bytes, salt, destination, iterations, HashAlgorithmName.SHA256); }
        finally { CryptographicOperations.ZeroMemory(bytes); }
    }

    /// <summary>
    /// Checks a plaintext password (PLAIN, LOGIN, POP3 PASS) by deriving StoredKey from it with this
    /// verifier's salt and iteration count, compared in constant time.
    /// </summary>
    public bool VerifyPassword(string password)
    {
        ScramCredential candidate;
        try { candidate = Derive(password, _salt, Iterations); }
        catch (ArgumentException) { return false; }   // not a string SASLprep accepts: cannot match
        return CryptographicOperations.FixedTimeEquals(candidate._storedKey, _storedKey);
    }
}
