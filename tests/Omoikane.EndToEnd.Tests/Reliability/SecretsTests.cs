using System.Net;
using System.Security.Cryptography;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>Secrets on disk are 0600 and passwords never reach the maillog.</summary>
public sealed class SecretsTests
{
    private const string Password = "Sekr1t-Pa55w0rd-never-logged";

    [SkippableFact]
    public async Task UserStoreAndTlsKeyAreCreatedOwnerOnly()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        await using var server = await TestServer.StartAsync("smtpd_tls_security_level = may");
        server.AddUser("alice@example.test", Password);
        var users = server.Host.Config.Main.Get("user_database");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(users));
        var key = Path.Combine(server.Host.Config.DataDirectory, "tls", "selfsigned-key.pem");
        Assert.Contains("PRIVATE KEY", await File.ReadAllTextAsync(key));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }

    [Fact]
    public async Task PasswordsNeverAppearInTheMaillog()
    {
        await using var server = await TestServer.StartAsync(masterCf: """
            127.0.0.1:587 inet n - n - - smtpd
              -o smtpd_sasl_auth_enable=yes
            127.0.0.1:110 inet n - n - - pop3d
            """);
        server.AddUser("alice@example.test", Password);
        var b64 = (string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        var forms = new List<string> { Password, b64(Password), b64("\0alice@example.test\0" + Password), b64("\0alice@example.test\0wrong-" + Password) };

        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint("127.0.0.1:587")))
        {
            Assert.StartsWith("535 ", await c.CommandAsync("AUTH PLAIN " + forms[3]));
            Assert.StartsWith("235 ", await c.CommandAsync("AUTH PLAIN " + forms[2]));
        }
        await using (var c = await Hostile.OpenSmtpAsync(server.EndPoint("127.0.0.1:587")))
        {
            Assert.StartsWith("334 ", await c.CommandAsync("AUTH LOGIN"));
            Assert.StartsWith("334 ", await c.CommandAsync(b64("alice@example.test")));
            Assert.StartsWith("235 ", await c.CommandAsync(forms[1]));
        }
        var pop3 = server.EndPoint("127.0.0.1:110");
        await using (var p = await RawSmtpClient.ConnectAsync(pop3))
        {
            Assert.StartsWith("+OK ", await p.ReadLineAsync());
            await p.Pop3Async("USER alice@example.test");
            Assert.StartsWith("-ERR", await p.Pop3Async("PASS wrong-" + Password));
            await p.Pop3Async("USER alice@example.test");
            Assert.StartsWith("+OK Logged in", await p.Pop3Async("PASS " + Password));
            await p.Pop3Async("QUIT");
        }
        await using (var p = await RawSmtpClient.ConnectAsync(pop3))
        {
            var greeting = (await p.ReadLineAsync())!;
            var ts = greeting[greeting.IndexOf('<')..(greeting.IndexOf('>') + 1)];
            var digest = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(ts + Password)));
            forms.Add(digest);
            Assert.StartsWith("+OK Logged in", await p.Pop3Async($"APOP alice@example.test {digest}"));
            await p.Pop3Async("QUIT");
        }
        await server.WaitForLogAsync("pop3-login: Login: user=<alice@example.test>, method=APOP");
        await server.WaitForLogAsync("disconnect from unknown[127.0.0.1]", "auth=1/2");
        var log = await File.ReadAllTextAsync(server.MaillogPath);
        foreach (var secret in forms.Append("wrong-" + Password))
            Assert.DoesNotContain(secret, log);
    }
}
