using System.Net;
using System.Text;
using Omoikane.Mail.Authentication;
using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Authentication;

/// <summary>A loopback DNS server, a key directory, and helpers to sign and check messages held in memory.</summary>
public sealed class AuthenticationFixture : IAsyncDisposable
{
    public const string AuthServId = "mx.example.test";
    public LoopbackDnsServer Dns { get; } = LoopbackDnsServer.Start();
    public string KeyDirectory { get; } = Directory.CreateTempSubdirectory("omoikane-dkim-").FullName;

    public IDnsResolver Resolver()
        => new DnsResolver(new DnsResolverOptions([Dns.EndPoint], TimeSpan.FromSeconds(2), 1) { TempFailTtl = TimeSpan.Zero }, new ManualTimeProvider());

    /// <summary>Makes a key for DOMAIN/SELECTOR in the key directory and publishes it (unless told not to).</summary>
    public DkimSigningKey AddKey(string domain, string selector, DkimKeyType type, bool publish = true)
    {
        var key = DkimKeyGenerator.Generate(type);
        var signing = new DkimSigningKey(domain, selector, Path.Combine(KeyDirectory, DkimSigningKey.FileName(domain, selector)));
        DkimKeyGenerator.WriteKeyFile(signing.KeyPath, key);
        if (publish) Dns.AddTxt($"{selector}._domainkey.{domain}", key.TxtRecord);
        return signing;
    }

    public MessageAuthentication Authentication(IReadOnlyList<DkimSigningKey>? keys = null, bool dmarcReject = false, Func<int>? sample = null)
    {
        var problems = new List<string>();
        var auth = MessageAuthentication.Create(new AuthenticationOptions
        {
            AuthServId = AuthServId, SigningKeys = keys ?? [], InboundChecks = true, DmarcReject = dmarcReject,
        }, Resolver(), problems, sample);
        Assert.Empty(problems);
        return auth;
    }

    public static MemoryStream Stream(string message) => new(Encoding.UTF8.GetBytes(message.ReplaceLineEndings("\n")));

    public static string Message(string from = "Alice <alice@sender.example>", string body = "Hello,\n\nthis is a test.  With  spaces \t\n\n\n")
        => $"From: {from}\nTo: bob@example.test\nSubject: DKIM test\nDate: Sat, 28 Nov 2026 02:24:06 +0000\nMessage-ID: <1@sender.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n{body}";

    public async Task<string> SignAsync(MessageAuthentication auth, string message)
    {
        var verdict = await auth.SignAsync(Stream(message));
        Assert.StartsWith("DKIM-Signature:", verdict.Prepend);
        return verdict.Prepend + message;
    }

    public static Task<AuthenticationVerdict> CheckAsync(MessageAuthentication auth, string message, string ip = "192.0.2.10", string mailFrom = "alice@sender.example")
        => auth.CheckAsync(new InboundContext(IPAddress.Parse(ip), "client.sender.example", mailFrom), Stream(message)).AsTask();

    public async ValueTask DisposeAsync()
    {
        await Dns.DisposeAsync();
        Directory.Delete(KeyDirectory, recursive: true);
    }
}
