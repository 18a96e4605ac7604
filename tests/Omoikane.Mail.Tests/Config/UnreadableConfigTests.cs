using Omoikane.Mail.Config;

namespace Omoikane.Mail.Tests.Configuration;

/// <summary>main.cf or master.cf that exists but cannot be read is an error naming the file, never "use the defaults".</summary>
public sealed class UnreadableConfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-cfg-" + Guid.NewGuid().ToString("N")[..10]);

    public UnreadableConfigTests() => Directory.CreateDirectory(_dir);

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Theory]
    [InlineData("main.cf")]
    [InlineData("master.cf")]
    public void ADirectoryInPlaceOfAConfigurationFileIsAnError(string name)
    {
        Directory.CreateDirectory(Path.Combine(_dir, name));
        var config = ConfigLoader.Load(_dir);
        var error = Assert.Single(config.Diagnostics.Errors);
        Assert.Equal(Path.Combine(_dir, name), error.File);
        Assert.Contains("cannot read", error.Message);
    }
}
