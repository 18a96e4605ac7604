using MimeKit;
using MimeKit.Cryptography;
using Omoikane.Mail.Authentication.Dkim;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Authentication;

/// <summary>DKIM signing and verification against keys published on a loopback DNS server (RFC 6376, RFC 8463).</summary>
public sealed class DkimTests : IAsyncLifetime
{
    private readonly AuthenticationFixture _f = new();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Theory]
    [InlineData(DkimKeyType.Rsa, "rsa-sha256")]
    [InlineData(DkimKeyType.Ed25519, "ed25519-sha256")]
    public async Task SignedMessageVerifies(DkimKeyType type, string algorithm)
    {
        var key = _f.AddKey("sender.example", "mail", type);
        var signed = await _f.SignAsync(_f.Authentication([key]), AuthenticationFixture.Message());

        var header = signed[..signed.IndexOf("\nFrom:", StringComparison.Ordinal)];
        Assert.Contains("c=relaxed/relaxed", header);
        Assert.Contains($"a={algorithm}", header);
        Assert.Contains("d=sender.example", header);
        Assert.Contains("s=mail", header);
        foreach (var h in new[] { "from", "to", "subject", "date", "message-id", "mime-version", "content-type" })
            Assert.Matches($@"h=[^;]*\b{h}\b", header.ToLowerInvariant());

        // MimeKit's own verifier, with keys from the loopback server.
        var message = await MimeMessage.LoadAsync(AuthenticationFixture.Stream(signed));
        var verifier = new DkimVerifier(new DkimDnsKeyLocator(_f.Resolver()));
        verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        Assert.True(await verifier.VerifyAsync(message, message.Headers.First(h => h.Id == HeaderId.DkimSignature)));

        var verdict = await AuthenticationFixture.CheckAsync(_f.Authentication(), signed);
        var dkim = Assert.Single(verdict.Dkim);
        Assert.Equal(DkimResult.Pass, dkim.Result);
        Assert.Equal(algorithm, dkim.Algorithm);
    }

    [Fact]
    public async Task SignatureSurvivesWhitespaceChangesButNotContentChanges()
    {
        var key = _f.AddKey("sender.example", "mail", DkimKeyType.Rsa);
        var signed = await _f.SignAsync(_f.Authentication([key]), AuthenticationFixture.Message());
        var checker = _f.Authentication();

        // relaxed/relaxed: folding a header and trailing white space do not matter (RFC 6376 §3.4.2, §3.4.4).
        var refolded = signed.Replace("Subject: DKIM test", "Subject:   DKIM\n  test").Replace("a test.", "a test.   ");
        Assert.Equal(DkimResult.Pass, Assert.Single((await AuthenticationFixture.CheckAsync(checker, refolded)).Dkim).Result);

        var tamperedBody = signed.Replace("this is a test", "this is a trap");
        Assert.Equal(DkimResult.Fail, Assert.Single((await AuthenticationFixture.CheckAsync(checker, tamperedBody)).Dkim).Result);
        var tamperedHeader = signed.Replace("Subject: DKIM test", "Subject: DKIM jest");
        Assert.Equal(DkimResult.Fail, Assert.Single((await AuthenticationFixture.CheckAsync(checker, tamperedHeader)).Dkim).Result);
    }

    [Fact]
    public async Task SignsAfterAddedHeadersAndOnlyForConfiguredDomains()
    {
        var key = _f.AddKey("sender.example", "mail", DkimKeyType.Ed25519);
        var auth = _f.Authentication([key]);
        // A subdomain is signed with its parent's key (d= stays the configured domain).
        var sub = await auth.SignAsync(AuthenticationFixture.Stream(AuthenticationFixture.Message("x@lists.sender.example")));
        Assert.Contains("d=sender.example", sub.Prepend);
        var other = await auth.SignAsync(AuthenticationFixture.Stream(AuthenticationFixture.Message("x@elsewhere.example")));
        Assert.Equal("", other.Prepend);
        var suffix = await auth.SignAsync(AuthenticationFixture.Stream(AuthenticationFixture.Message("x@notsender.example")));
        Assert.Equal("", suffix.Prepend);
    }

    [Fact]
    public async Task MissingKeyIsPermErrorAndDnsFailureTempError()
    {
        var key = _f.AddKey("sender.example", "mail", DkimKeyType.Rsa, publish: false);
        var signed = await _f.SignAsync(_f.Authentication([key]), AuthenticationFixture.Message());
        var checker = _f.Authentication();
        Assert.Equal(DkimResult.PermError, Assert.Single((await AuthenticationFixture.CheckAsync(checker, signed)).Dkim).Result);

        _f.Dns.AddTxt("mail._domainkey.sender.example", "v=DKIM1; k=rsa; p=").SetBehavior("mail._domainkey.sender.example", DnsBehavior.ServFail);
        Assert.Equal(DkimResult.TempError, Assert.Single((await AuthenticationFixture.CheckAsync(_f.Authentication(), signed)).Dkim).Result);
    }

    [Fact]
    public async Task RevokedKeyIsPermError()
    {
        var key = _f.AddKey("sender.example", "mail", DkimKeyType.Rsa, publish: false);
        _f.Dns.AddTxt("mail._domainkey.sender.example", "v=DKIM1; k=rsa; p=");
        var signed = await _f.SignAsync(_f.Authentication([key]), AuthenticationFixture.Message());
        Assert.Equal(DkimResult.PermError, Assert.Single((await AuthenticationFixture.CheckAsync(_f.Authentication(), signed)).Dkim).Result);
    }

    [Fact]
    public void KeyFileIsPrivateAndRecordPublishesTheKey()
    {
        var key = _f.AddKey("sender.example", "sel", DkimKeyType.Rsa, publish: false);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key.KeyPath));
        var generated = DkimKeyGenerator.Generate(DkimKeyType.Ed25519);
        Assert.Matches(@"^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$", generated.TxtRecord);
        var rsa = DkimKeyGenerator.Generate(DkimKeyType.Rsa);
        var line = rsa.ZoneLine("example.com", "s1");
        Assert.StartsWith("s1._domainkey.example.com IN TXT \"v=DKIM1; k=rsa; p=", line);
        Assert.All(System.Text.RegularExpressions.Regex.Matches(line, "\"([^\"]*)\"").Select(m => m.Groups[1].Value), s => Assert.InRange(s.Length, 1, 255));
        Assert.Throws<IOException>(() => DkimKeyGenerator.WriteKeyFile(key.KeyPath, rsa));
    }
}
