using System.Security.Cryptography;
using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// The salt and iteration count SCRAM shows for a user that does not exist: HMAC-SHA256 of the
/// canonical user name under a 32-byte secret, cut to a real salt's length. The secret lives in a file
/// of the data directory (mode 0600, made at first start), so an unknown user's salt stays the same
/// across restarts, as a real user's does: comparing salts before and after a restart reveals nothing.
/// </summary>
public sealed class ScramFakeSalt
{
    public const string FileName = "scram-fake-salt.key";
    public const int SecretLength = 32;

    private readonly byte[] _secret;
    private readonly CredentialOptions _credentials;

    public ScramFakeSalt(ReadOnlySpan<byte> secret, CredentialOptions? credentials = null)
    {
        if (secret.Length != SecretLength) throw new ArgumentException($"the secret must be {SecretLength} bytes", nameof(secret));
        _secret = secret.ToArray();
        _credentials = credentials ?? CredentialOptions.Default;
    }

    /// <summary>A secret for this process only (tests and stores without a data directory).</summary>
    public static ScramFakeSalt Ephemeral() => new(RandomNumberGenerator.GetBytes(SecretLength));

    /// <summary>
    /// Reads <c>DIRECTORY/scram-fake-salt.key</c>, or creates it (mode 0600) when it does not exist.
    /// A file of the wrong size or that cannot be read is an error naming the file: the server does not
    /// start with a salt that would change.
    /// </summary>
    public static ScramFakeSalt LoadOrCreate(string directory, CredentialOptions? credentials = null)
    {
        var path = Path.Combine(directory, FileName);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                var bytes = File.ReadAllBytes(path);
                if (bytes.Length != SecretLength)
                    throw new InvalidDataException($"{path}: expected {SecretLength} bytes, found {bytes.Length}; delete it to make a new one");
                return new ScramFakeSalt(bytes, credentials);
            }
            catch (FileNotFoundException) { }
            var secret = RandomNumberGenerator.GetBytes(SecretLength);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try
            {
                using (var fs = new FileStream(path, options)) { fs.Write(secret); fs.Flush(flushToDisk: true); }
                return new ScramFakeSalt(secret, credentials);
            }
            catch (IOException) when (File.Exists(path)) { }   // another process made it first: read it
        }
        throw new IOException($"{path}: cannot be created or read");
    }

    /// <summary>The salt an unknown <paramref name="username"/> gets (the same for every spelling of one address).</summary>
    public byte[] SaltFor(string username)
    {
        // Folded as the user store compares names (UserAddress.Comparer, ordinal ignoring case).
        var canonical = (UserAddress.TryNormalize(username, out var c, out _) ? c : username).ToUpperInvariant();
        var mac = HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes("scram-sha-256 fake salt\0" + canonical));
        return mac.AsSpan(0, Math.Min(_credentials.ScramSaltLength, mac.Length)).ToArray();
    }

    /// <summary>The iteration count new passwords get, so an unknown user looks like a real one.</summary>
    public int Iterations => _credentials.ScramIterations;
}
