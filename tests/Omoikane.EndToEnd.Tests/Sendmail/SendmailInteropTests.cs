using System.Diagnostics;
using System.Net.Sockets;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Sendmail;

/// <summary>Local submission by an unprivileged user and by the programs that call sendmail: PHP's mail(), s-nail.</summary>
public sealed class SendmailInteropTests
{
    private const string TestUser = "omoikanesm";

    private const string ServerUser = "omoikanesrv";

    /// <summary>Creates a system user for the test when missing (needs root, useradd and runuser; skips otherwise); returns its uid.</summary>
    private static async Task<string> EnsureUserAsync(string name, string comment)
    {
        Skip.If((await ExternalProgram.RunAsync("id", ["-u"])).Out.Trim() != "0", "needs root to create a test user and run a program as that user");
        ExternalProgram.SkipUnlessInstalled("useradd", "passwd");
        ExternalProgram.SkipUnlessInstalled("runuser", "util-linux");
        if ((await ExternalProgram.RunAsync("id", ["-u", name])).Code != 0)
        {
            var add = await ExternalProgram.RunAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", comment, name]);
            Skip.If(add.Code != 0, "useradd failed: " + add.Err);
        }
        return (await ExternalProgram.RunAsync("id", ["-u", name])).Out.Trim();
    }

    [SkippableFact]
    public async Task UnprivilegedUserSubmitsThroughTheMaildropAndIsNamedByUid()
    {
        var uid = await EnsureUserAsync(TestUser, "Sendmail Tester");
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
    public async Task ServerUnderItsOwnAccountTakesAnotherUsersSubmission()
    {
        // The deployment of deploy/omoikane.service: the server is not root, so it reads another user's
        // file only through the permissions sendmail gives it, and removes it as the maildrop's owner.
        var uid = await EnsureUserAsync(TestUser, "Sendmail Tester");
        await EnsureUserAsync(ServerUser, "Omoikane Test Server");
        await using var s = await LocalSubmission.CreateAsync(start: false);
        Assert.Equal(0, (await ExternalProgram.RunAsync("chown", ["-R", ServerUser, s.Server.Directory])).Code);
        var psi = new ProcessStartInfo("runuser") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-u", ServerUser, "--", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet", OmoikaneProcess.Dll, "serve", "--config", s.Server.Directory })
            psi.ArgumentList.Add(a);
        using var server = Process.Start(psi)!;
        _ = server.StandardOutput.ReadToEndAsync();
        var err = server.StandardError.ReadToEndAsync();
        try
        {
            var deadline = Environment.TickCount64 + 30000;
            while (true)
            {
                Assert.False(server.HasExited, "server exited: " + (server.HasExited ? await err : ""));
                try { using var c = new TcpClient(); await c.ConnectAsync(s.Server.Smtp); break; }
                catch (SocketException) when (Environment.TickCount64 < deadline) { await Task.Delay(100); }
            }
            var r = await ExternalProgram.RunAsync("runuser", ["-u", TestUser, "--", "env", "HOME=/tmp", "MAIL_CONFIG=" + s.Server.Directory,
                s.Program("sendmail"), "alice@example.test"], "Subject: under its own account\n\nhello\n");
            Assert.True(r.Code == 0, r.Err);
            var msg = Assert.Single(await s.WaitForAliceAsync());
            Assert.Contains($"(Omoikane, from userid {uid})", LocalSubmission.Field(msg, "Received"));
            Assert.Empty(Directory.GetFileSystemEntries(s.Maildrop));
        }
        finally
        {
            try { server.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
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
