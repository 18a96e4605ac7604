using System.Text.Json;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Cli;

/// <summary>The omoikane program's commands: exit codes, one-line errors, --json.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-cli-" + Guid.NewGuid().ToString("N")[..10]);

    public CliTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "main.cf"), $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = {_dir}/data\n{TestDns.MainCfLine}\n");
    }

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private Task<(int Code, string Out, string Err)> Run(string? stdin, params string[] args)
        => OmoikaneProcess.RunAsync(_dir, stdin, [.. args, "--config", _dir]);

    [Fact]
    public async Task UserCommandsManageTheStore()
    {
        Assert.Equal(0, (await Run("s3cret\n", "user", "add", "alice@example.test", "--password-stdin")).Code);
        var dup = await Run("x\n", "user", "add", "alice@example.test", "--password-stdin");
        Assert.NotEqual(0, dup.Code);
        Assert.Single(dup.Err.Trim().Split('\n'));
        Assert.StartsWith("omoikane: ", dup.Err);
        var noPw = await Run(null, "user", "add", "bob@example.test");
        Assert.NotEqual(0, noPw.Code);
        Assert.Contains("--password-stdin", noPw.Err);
        var bad = await Run("x\n", "user", "add", "not-an-address", "--password-stdin");
        Assert.NotEqual(0, bad.Code);
        Assert.Equal(0, (await Run("pw2\n", "user", "passwd", "alice@example.test", "--password-stdin")).Code);
        var list = await Run(null, "user", "list", "--json");
        Assert.Equal(["alice@example.test"], JsonSerializer.Deserialize<string[]>(list.Out));
        var users = Path.Combine(_dir, "data", "users");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(users));
        Assert.DoesNotContain("s3cret", File.ReadAllText(users).Replace("apop=", ""));
        Assert.Equal(0, (await Run(null, "user", "del", "alice@example.test")).Code);
        Assert.NotEqual(0, (await Run(null, "user", "del", "alice@example.test")).Code);
    }

    [Fact]
    public async Task CheckReportsFileAndLine()
    {
        File.AppendAllText(Path.Combine(_dir, "main.cf"), "smtpd_timeout = soon\nno_such_parameter = 1\nsmtpd_client_restrictions = check_client_access cidr:/nonexistent/file, reject_bogus\nmessage_size_limit = lots\n");
        var r = await Run(null, "check");
        Assert.Equal(1, r.Code);
        var main = Path.Combine(_dir, "main.cf");
        // Every error on stderr (a script that reads only stderr learns what is wrong), warnings on stdout.
        Assert.Contains($"{main}:5: error: smtpd_timeout = soon: expected a time", r.Err);
        Assert.Contains($"{main}:8: error: message_size_limit = lots: expected a number", r.Err);
        Assert.DoesNotContain("error:", r.Out);
        Assert.Contains($"{main}:6: warning: unknown parameter \"no_such_parameter\"", r.Out);
    }

    [Fact]
    public async Task ConfigPrintsEffectiveValues()
    {
        var r = await Run(null, "config", "mydestination", "smtpd_banner", "myorigin");
        Assert.Equal(0, r.Code);
        Assert.Contains("mydestination = example.test", r.Out);
        Assert.Contains("smtpd_banner = $myhostname ESMTP $mail_name", r.Out);
        var x = await Run(null, "config", "-x", "smtpd_banner");
        Assert.Equal("smtpd_banner = mail.example.test ESMTP Omoikane", x.Out.Trim());
        var n = await Run(null, "config", "-n");
        Assert.Equal(["data_directory", "dns_servers", "mydestination", "myhostname"], n.Out.Trim().Split('\n').Select(l => l.Split(" = ")[0]).ToArray());
        var unknown = await Run(null, "config", "no_such_parameter");
        Assert.NotEqual(0, unknown.Code);
    }

    [Fact]
    public async Task QueueListOfEmptyQueue()
    {
        var r = await Run(null, "queue", "list");
        Assert.Equal(0, r.Code);
        Assert.Equal("Mail queue is empty", r.Out.Trim());
        var j = await Run(null, "queue", "list", "--json");
        Assert.Equal("[]", j.Out.Trim());
        Assert.NotEqual(0, (await Run(null, "queue", "delete", "ABCDEF123456")).Code);
    }
}
