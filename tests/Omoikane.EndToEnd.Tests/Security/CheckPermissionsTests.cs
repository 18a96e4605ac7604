using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Security;

/// <summary>
/// omoikane check on real files and modes: configuration, tables and directories others can write are
/// warnings; secrets (TLS and DKIM private keys, the user store) others can read are errors, group-readable
/// ones warnings; each finding is one line naming the path, the mode and the chmod that fixes it.
/// </summary>
public sealed class CheckPermissionsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-perm-" + Guid.NewGuid().ToString("N")[..10]);

    public CheckPermissionsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string P(string name) => Path.Combine(_dir, name);

    private async Task SetUpAsync()
    {
        using var rsa = RSA.Create(2048);
        var req = new CertificateRequest("CN=mail.example.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(P("cert.pem"), cert.ExportCertificatePem());
        File.WriteAllText(P("key.pem"), rsa.ExportPkcs8PrivateKeyPem());
        Directory.CreateDirectory(P("dkim"));
        File.WriteAllText(P("dkim/example.test.mail.key"), "not checked here");
        File.WriteAllText(P("access"), "192.0.2.1 REJECT\n");
        File.WriteAllText(P("main.cf"), $"""
            myhostname = mail.example.test
            mydestination = example.test
            data_directory = {P("data")}
            {TestDns.MainCfLine}
            smtpd_tls_security_level = may
            smtpd_tls_cert_file = {P("cert.pem")}
            smtpd_tls_key_file = {P("key.pem")}
            dkim_signing_domains = example.test
            dkim_selector = mail
            dkim_key_directory = {P("dkim")}
            smtpd_client_restrictions = check_client_access texthash:access
            """);
        File.WriteAllText(P("master.cf"), "127.0.0.1:2525 inet n - n - - smtpd\n");
        var add = await OmoikaneProcess.RunAsync(_dir, "pw\n", "user", "add", "alice@example.test", "--password-stdin", "--config", _dir);
        Assert.Equal(0, add.Code);
        // Safe modes everywhere first.
        foreach (var secret in new[] { "key.pem", "dkim/example.test.mail.key", "data/users" })
            File.SetUnixFileMode(P(secret), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static UnixFileMode Mode(int octal) => (UnixFileMode)octal;

    [Fact]
    public async Task SafeModesGiveNoFinding()
    {
        await SetUpAsync();
        var (code, stdout, _) = await OmoikaneProcess.RunAsync(_dir, null, "check", "--config", _dir);
        Assert.DoesNotContain("writable by", stdout);
        Assert.DoesNotContain("readable by", stdout);
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task WritableConfigurationAndReadableSecretsAreReportedOneLineEach()
    {
        await SetUpAsync();
        File.SetUnixFileMode(P("main.cf"), Mode(0x1B6));               // 0666
        File.SetUnixFileMode(P("access"), Mode(0x190));                // 0620
        File.SetUnixFileMode(P("data"), Mode(0x1FF));                  // 0777
        File.SetUnixFileMode(P("key.pem"), Mode(0x1A4));               // 0644
        File.SetUnixFileMode(P("dkim/example.test.mail.key"), Mode(0x1A0)); // 0640
        File.SetUnixFileMode(P("data/users"), Mode(0x184));            // 0604

        var (code, stdout, _) = await OmoikaneProcess.RunAsync(_dir, null, "check", "--config", _dir);

        Assert.Equal(1, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string Line(string path) => Assert.Single(lines, l => l.StartsWith(path + ": ", StringComparison.Ordinal));
        Assert.Equal($"{P("main.cf")}: warning: file writable by group and others (mode 0666): whoever can write it can change how mail is handled; run chmod go-w {P("main.cf")}", Line(P("main.cf")));
        Assert.Contains("warning: file writable by group (mode 0620)", Line(P("access")));
        Assert.Contains($"warning: directory writable by group and others (mode 0777): whoever can write it can change how mail is handled; run chmod go-w {P("data")}", Line(P("data")));
        Assert.Equal($"{P("key.pem")}: error: TLS private key readable by others (mode 0644): any local user can read it; run chmod 600 {P("key.pem")}", Line(P("key.pem")));
        Assert.Contains("warning: DKIM private key readable by its group (mode 0640)", Line(P("dkim/example.test.mail.key")));
        Assert.Contains("error: user database readable by others (mode 0604)", Line(P("data/users")));
        // The certificate itself is public: no finding.
        Assert.DoesNotContain(lines, l => l.StartsWith(P("cert.pem"), StringComparison.Ordinal));
    }
}
