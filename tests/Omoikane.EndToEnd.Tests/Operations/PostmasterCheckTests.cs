using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>omoikane check says when mail to postmaster reaches nobody, and when a mailbox limit is below message_size_limit.</summary>
public sealed class PostmasterCheckTests
{
    private static string Directory(string mainCf, string? aliases)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("omoikane-postmaster-").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"),
            $"myhostname = mail.example.test\nmydestination = example.test, localhost\ndata_directory = {dir}/data\n{mainCf}"
            + (aliases is null ? "" : $"alias_maps = hash:{dir}/aliases\n"));
        File.WriteAllText(Path.Combine(dir, "master.cf"), "127.0.0.1:2525 inet n - n - - smtpd\n");
        if (aliases is not null) File.WriteAllText(Path.Combine(dir, "aliases"), aliases);
        return dir;
    }

    [Theory]
    [InlineData("postmaster: root\n", "alias \"postmaster: root\" names nothing deliverable")]
    [InlineData(null, "there is no alias and no user for postmaster")]
    public async Task CheckWarnsWhenPostmasterReachesNobodyAndNamesTheFix(string? aliases, string why)
    {
        var dir = Directory("", aliases);
        try
        {
            var (code, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            Assert.Equal(0, code);
            var line = Assert.Single(stdout.Split('\n'), l => l.Contains("warning: postmaster: ", StringComparison.Ordinal));
            Assert.Contains(why, line);
            Assert.Contains("add \"postmaster: you@example.test\" (an existing user) to an alias_maps file, or run \"omoikane user add postmaster@example.test\"", line);
        }
        finally { System.IO.Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task NoWarningWhenPostmasterReachesAUserOrACommand()
    {
        var dir = Directory("", "postmaster: alice\n");
        try
        {
            Assert.Equal(0, (await OmoikaneProcess.RunAsync(dir, "pw\n", "user", "add", "alice@example.test", "--password-stdin", "--config", dir)).Code);
            var (_, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            Assert.DoesNotContain("postmaster", stdout);
            File.WriteAllText(Path.Combine(dir, "aliases"), "postmaster: \"|/bin/cat\"\n");
            (_, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            Assert.DoesNotContain("postmaster", stdout);
        }
        finally { System.IO.Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task CheckWarnsWhenAMailboxLimitIsBelowTheMessageLimit()
    {
        var dir = Directory("mailbox_size_limit = 1000000\n", "postmaster: \"|/bin/cat\"\n");
        try
        {
            var (_, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            Assert.Contains("warning: mailbox_size_limit (1000000) is smaller than message_size_limit (10240000)", stdout);
        }
        finally { System.IO.Directory.Delete(dir, recursive: true); }
    }
}
