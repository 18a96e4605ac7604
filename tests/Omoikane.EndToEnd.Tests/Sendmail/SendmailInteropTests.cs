using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Sendmail;

/// <summary>Local submission by an unprivileged user and by the programs that call sendmail: PHP's mail(), s-nail.</summary>
public sealed class SendmailInteropTests
{
    private const string TestUser = "omoikanesm";

    [SkippableFact]
    public async Task UnprivilegedUserSubmitsThroughTheMaildropAndIsNamedByUid()
    {
        Skip.If(Environment.UserName != "root" && ExternalProgram.Find("id") is not null && (await ExternalProgram.RunAsync("id", ["-u"])).Out.Trim() != "0",
            "needs root to create a test user and run a program as that user");
        ExternalProgram.SkipUnlessInstalled("useradd", "passwd");
        ExternalProgram.SkipUnlessInstalled("runuser", "util-linux");
        if ((await ExternalProgram.RunAsync("id", ["-u", TestUser])).Code != 0)
        {
            var add = await ExternalProgram.RunAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Sendmail Tester", TestUser]);
            Skip.If(add.Code != 0, "useradd failed: " + add.Err);
        }
        var uid = (await ExternalProgram.RunAsync("id", ["-u", TestUser])).Out.Trim();
        await using var s = await LocalSubmission.CreateAsync();
        var r = await ExternalProgram.RunAsync("runuser", ["-u", TestUser, "--", "env", "HOME=/tmp", "MAIL_CONFIG=" + s.Server.Directory,
            s.Program("sendmail"), "-t"], "To: alice@example.test\nSubject: from a user\n\nhello\n");
        Assert.True(r.Code == 0, r.Err);
        var msg = Assert.Single(await s.WaitForAliceAsync());
        Assert.Contains($"(Omoikane, from userid {uid})", LocalSubmission.Field(msg, "Received"));
        Assert.Equal($"\"Sendmail Tester\" <{TestUser}@mail.example.test>", LocalSubmission.Field(msg, "From"));
        Assert.Contains($"Return-Path: <{TestUser}@mail.example.test>", msg);
        Assert.Matches($@"pickup\[\d+\]: [0-9A-F]+: uid={uid} from=<{TestUser}>", s.Maillog());
        // The user can drop files but not list the maildrop, nor read the queue.
        var ls = await ExternalProgram.RunAsync("runuser", ["-u", TestUser, "--", "ls", s.Maildrop]);
        Assert.NotEqual(0, ls.Code);
        var ls2 = await ExternalProgram.RunAsync("runuser", ["-u", TestUser, "--", "ls", Path.Combine(s.Server.DataDirectory, "queue", "messages")]);
        Assert.NotEqual(0, ls2.Code);
    }

    [SkippableFact]
    public async Task PhpMailGoesThroughSendmailPath()
    {
        ExternalProgram.SkipUnlessInstalled("php", "php-cli");
        await using var s = await LocalSubmission.CreateAsync();
        var r = await ExternalProgram.RunAsync("php", ["-d", $"sendmail_path={s.Program("sendmail")} -t -i",
            "-r", "exit(mail('alice@example.test', 'php subject', \"php body\\n.\\nstill body\", 'From: web@example.test') ? 0 : 3);"], null, s.Env);
        Assert.True(r.Code == 0, r.Out + r.Err);
        var msg = Assert.Single(await s.WaitForAliceAsync());
        Assert.Equal("php subject", LocalSubmission.Field(msg, "Subject"));
        Assert.Equal("web@example.test", LocalSubmission.Field(msg, "From"));
        Assert.Contains("php body\n.\nstill body", msg);
    }

    [SkippableFact]
    public async Task SnailMailDashSSendsThroughTheSymlink()
    {
        ExternalProgram.SkipUnlessInstalled("s-nail", "s-nail");
        await using var s = await LocalSubmission.CreateAsync();
        var r = await ExternalProgram.RunAsync("s-nail", ["-:/", "-S", "mta=" + s.Program("sendmail"), "-s", "nail subject", "alice@example.test"], "nail body\n", s.Env);
        Assert.True(r.Code == 0, r.Out + r.Err);
        var msg = Assert.Single(await s.WaitForAliceAsync());
        Assert.Equal("nail subject", LocalSubmission.Field(msg, "Subject"));
        Assert.Contains("root@mail.example.test", LocalSubmission.Field(msg, "From")); // added: s-nail writes none
        Assert.EndsWith("nail body\n", msg);
    }
}
