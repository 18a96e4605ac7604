using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>Makes signing keys and their DNS records (RFC 6376 §3.6.1, RFC 8463 §4).</summary>
public static class DkimKeyGenerator
{
    public const int RsaBits = 2048;

    public static DkimGeneratedKey Generate(DkimKeyType type)
    {
        if (type == DkimKeyType.Rsa)
        {
            using var rsa = RSA.Create(RsaBits);
            // p= is the base64 SubjectPublicKeyInfo for k=rsa (RFC 6376 §3.6.1).
            var p = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
            return new DkimGeneratedKey(rsa.ExportPkcs8PrivateKeyPem() + "\n", $"v=DKIM1; k=rsa; p={p}", type);
        }
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var priv = (Ed25519PrivateKeyParameters)pair.Private;
        var pub = (Ed25519PublicKeyParameters)pair.Public;
        // p= is the bare 32-octet public key for k=ed25519 (RFC 8463 §4).
        var pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(priv).GetEncoded();
        var pem = PemEncoding.WriteString("PRIVATE KEY", pkcs8) + "\n";
        return new DkimGeneratedKey(pem, $"v=DKIM1; k=ed25519; p={Convert.ToBase64String(pub.GetEncoded())}", type);
    }

    /// <summary>Writes the key with mode 0600 (created so, never widened afterwards); refuses to overwrite.</summary>
    public static void WriteKeyFile(string path, DkimGeneratedKey key)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(key.PrivateKeyPem);
    }
}
