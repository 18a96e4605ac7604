using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Omoikane.Server.Hosting;

/// <summary>
/// The certificate used when main.cf names none: made on first start under $data_directory/tls
/// (key mode 0600), reused afterwards. `omoikane check` warns that it is self-signed.
/// </summary>
public static class SelfSignedCertificate
{
    public static (string CertPath, string KeyPath) Paths(string dataDirectory)
        => (Path.Combine(dataDirectory, "tls", "selfsigned-cert.pem"), Path.Combine(dataDirectory, "tls", "selfsigned-key.pem"));

    public static X509Certificate2 LoadOrCreate(string dataDirectory, string hostname)
    {
        var (certPath, keyPath) = Paths(dataDirectory);
        if (File.Exists(certPath) && File.Exists(keyPath))
            return Load(certPath, keyPath);
        var dir = Path.GetDirectoryName(certPath)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={hostname}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostname);
        if (hostname != "localhost") san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        WriteSecret(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        return Load(certPath, keyPath);
    }

    /// <summary>Loads a PEM certificate (chain) and key; the result is usable by SslStream on every platform.</summary>
    public static X509Certificate2 Load(string certPath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        // Round-trip through PKCS#12 so the private key is usable by the TLS stack everywhere.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private static void WriteSecret(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var fs = new FileStream(path, options);
        using var w = new StreamWriter(fs);
        w.Write(content);
    }
}
