using System.Text.Json;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Cli;

/// <summary>User names map one-to-one onto storage: the users file, and Maildirs named by address.</summary>
public sealed class UserNameStorageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-names-" + Guid.NewGuid().ToString("N")[..10]);

    public UserNameStorageTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "main.cf"), $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = {_dir}/data\n{TestDns.MainCfLine}\n");
    }

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private Task<(int Code, string Out, string Err)> Run(string? stdin, params string[] args)
        => OmoikaneProcess.RunAsync(_dir, stdin, [.. args, "--config", _dir]);

    [Theory]
    [InlineData("a/b@example.test")]
    [InlineData("../x@example.test")]
    [InlineData(".hidden@example.test")]
    [InlineData("a:b@example.test")]
    [InlineData("a\\b@example.test")]
    [InlineData("a\nb@example.test")]
    [InlineData("a@exa/mple.test")]
    public async Task NamesThatCannotMapOntoAMaildirAreRefusedInOneLine(string address)
    {
        Assert.Equal(0, (await Run("pw\n", "user", "add", "a_b@example.test", "--password-stdin")).Code);
        var bad = await Run("pw\n", "user", "add", address, "--password-stdin");
        Assert.NotEqual(0, bad.Code);
        Assert.Single(bad.Err.Trim().Split('\n'));
        Assert.StartsWith("omoikane: ", bad.Err);
        var list = await Run(null, "user", "list", "--json");
        Assert.Equal(0, list.Code);
        Assert.Equal(["a_b@example.test"], JsonSerializer.Deserialize<string[]>(list.Out));
    }

    [Fact]
    public async Task SpellingsOfOneAddressAreOneUser()
    {
        Assert.Equal(0, (await Run("pw\n", "user", "add", "kate@example.test", "--password-stdin")).Code);
        Assert.NotEqual(0, (await Run("pw\n", "user", "add", "KATE@Example.Test", "--password-stdin")).Code);
        var kelvin = await Run("pw\n", "user", "add", "\u212Aate@example.test", "--password-stdin");
        Assert.NotEqual(0, kelvin.Code);
        Assert.Single(kelvin.Err.Trim().Split('\n'));
    }
}
