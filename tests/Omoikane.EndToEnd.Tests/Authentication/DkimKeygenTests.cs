using Omoikane.EndToEnd.Tests.Support;
using Omoikane.Mail.Authentication.Dkim;

namespace Omoikane.EndToEnd.Tests.Authentication;

/// <summary>omoikane dkim keygen: the key file (mode 0600, never overwritten) and the record printed.</summary>
public sealed class DkimKeygenTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omoikane-keygen-").FullName;

    public DkimKeygenTests() => File.WriteAllText(Path.Combine(_dir, "main.cf"), $"data_directory = {_dir}/data\ndkim_key_directory = {_dir}/keys\n");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => OmoikaneProcess.RunAsync(_dir, null, [.. args, "--config", _dir]);

    [Theory]
    [InlineData("rsa", "k=rsa")]
    [InlineData("ed25519", "k=ed25519")]
    public async Task KeygenWritesPrivateKeyAndPrintsRecord(string type, string k)
    {
        var (code, output, error) = await RunAsync("dkim", "keygen", "Example.COM", "--selector", "s1", "--type", type);
        Assert.True(code == 0, error);
        Assert.StartsWith($"s1._domainkey.example.com IN TXT \"v=DKIM1; {k}; p=", output);
        var path = Path.Combine(_dir, "keys", "example.com.s1.key");
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Contains("add example.com:s1 to dkim_signing_domains", error);
        // The key loads for signing.
        Assert.Equal("s1", DkimMessageSigner.LoadSigner(new DkimSigningKey("example.com", "s1", path)).Selector);

        var again = await RunAsync("dkim", "keygen", "example.com", "--selector", "s1");
        Assert.Equal(1, again.Code);
        Assert.Contains("exists", again.Err);
    }

    [Fact]
    public async Task KeygenRefusesBadNames()
    {
        Assert.Equal(1, (await RunAsync("dkim", "keygen", "localhost")).Code);
        Assert.Equal(1, (await RunAsync("dkim", "keygen", "example.com", "--selector", "a/b")).Code);
        Assert.NotEqual(0, (await RunAsync("dkim", "keygen", "example.com", "--type", "dsa")).Code);
    }
}
