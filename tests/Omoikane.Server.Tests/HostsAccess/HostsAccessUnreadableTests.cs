using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Tests.HostsAccessRules;

/// <summary>
/// Fail closed: a hosts.allow or hosts.deny that exists but cannot be read refuses every client (tcp_wrappers
/// does the same), is reported once as an error naming the file, and is read again until it can be.
/// (These tests put a directory where the file should be, which no user, root included, can read as a file;
/// the permission case runs as an unprivileged user in Omoikane.EndToEnd.Tests.Security.FailClosedFilesTests.)
/// </summary>
public sealed class HostsAccessUnreadableTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-hosts-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly List<ConfigDiagnostic> _reported = new();

    public HostsAccessUnreadableTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static async Task<HostsAccessDecision> CheckAsync(Transport.HostsAccess access, string address, string daemon = "smtpd")
        => await access.CheckAsync([daemon], IPAddress.Parse(address), _ => ValueTask.FromResult(HostsAccessName.None));

    [Theory]
    [InlineData("hosts.deny")]
    [InlineData("hosts.allow")]
    public async Task AnUnreadableFileRefusesEveryClientOfEveryService(string name)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(_dir, name == "hosts.deny" ? "hosts.allow" : "hosts.deny"), "");

        var access = new Transport.HostsAccess(_dir, _reported.Add);

        foreach (var (address, daemon) in new[] { ("127.0.0.1", "smtpd"), ("192.0.2.7", "pop3d"), ("2001:db8::1", "submission") })
        {
            var decision = await CheckAsync(access, address, daemon);
            Assert.False(decision.Granted);
            Assert.Equal(path, decision.Rule!.File);
        }
        var error = Assert.Single(_reported);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.Equal(path, error.File);
        Assert.Contains("every client is refused", error.Message);
    }

    [Fact]
    public async Task TheFileIsReadAgainOnceItIsReadable()
    {
        var path = Path.Combine(_dir, "hosts.deny");
        Directory.CreateDirectory(path);
        var access = new Transport.HostsAccess(_dir, _reported.Add);
        Assert.False((await CheckAsync(access, "127.0.0.1")).Granted);
        access.RefreshIfChanged(force: true);
        Assert.Single(_reported); // reported once, not at every re-read

        Directory.Delete(path);
        File.WriteAllText(path, "smtpd: 192.0.2.1\n");
        access.RefreshIfChanged(force: true);

        Assert.True((await CheckAsync(access, "127.0.0.1")).Granted);
        Assert.False((await CheckAsync(access, "192.0.2.1")).Granted);
    }

    [Fact]
    public void ValidateReportsAnUnreadableFileAsAnError()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "hosts.allow"));
        var diag = Assert.Single(Transport.HostsAccess.Validate(_dir));
        Assert.Equal(DiagnosticSeverity.Error, diag.Severity);
        Assert.EndsWith("hosts.allow", diag.File);
    }
}
