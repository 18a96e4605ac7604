using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Security;

/// <summary>
/// "Cannot read X, continue" paths at start: a lookup table, an alias map or a DKIM signing key that cannot
/// be read, or a maillog_file that cannot be opened, stop the start with the file named (a reload already
/// refused them). A directory stands in for the unreadable file: no user, root included, reads it as one.
/// </summary>
public sealed class FailClosedStartTests
{
    private static async Task<InvalidOperationException> StartFailsAsync(string mainCf, Action<string> prepare)
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var server = await TestServer.StartAsync(mainCf, "127.0.0.1:25 inet n - n - - smtpd\n", prepare);
        });
        return ex;
    }

    [Fact]
    public async Task AnUnreadableAccessTableStopsTheStart()
    {
        var ex = await StartFailsAsync("smtpd_client_restrictions = check_client_access texthash:access\n",
            dir => Directory.CreateDirectory(Path.Combine(dir, "access")));
        Assert.Contains("access", ex.Message);
        Assert.Contains("cannot open lookup table", ex.Message);
    }

    [Fact]
    public async Task AnUnreadableAliasMapStopsTheStart()
    {
        var ex = await StartFailsAsync("alias_maps = texthash:aliases\n",
            dir => Directory.CreateDirectory(Path.Combine(dir, "aliases")));
        Assert.Contains("aliases", ex.Message);
    }

    [Fact]
    public async Task AMissingDkimSigningKeyStopsTheStart()
    {
        string? keyDir = null;
        var ex = await StartFailsAsync("dkim_signing_domains = example.test\ndkim_selector = mail\ndkim_key_directory = $config_directory/dkim\n",
            dir => Directory.CreateDirectory(keyDir = Path.Combine(dir, "dkim")));
        Assert.Contains(Path.Combine(keyDir!, "example.test.mail.key"), ex.Message);
        Assert.Contains("mail from example.test is not signed", ex.Message);
    }

    [Fact]
    public async Task AMaillogThatCannotBeOpenedStopsTheStart()
    {
        string? log = null;
        var ex = await StartFailsAsync("maillog_file = $config_directory/maillog\n",
            dir => Directory.CreateDirectory(log = Path.Combine(dir, "maillog")));
        Assert.Contains($"cannot open maillog_file {log}", ex.Message);
    }
}
