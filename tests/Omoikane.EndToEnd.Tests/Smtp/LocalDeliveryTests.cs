using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>
/// aliases(5) targets as local(8) delivers them, over real SMTP sessions: "|command" (environment, input,
/// exit status mapping, time limit), "/file" (mbox append), ":include:" lists, allow_mail_to_commands /
/// allow_mail_to_files; what they refuse is refused at RCPT.
/// </summary>
public sealed class LocalDeliveryTests
{
    private static async Task SendAsync(TestServer server, string from, string[] rcpts, string body = "body")
    {
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250 ", await c.CommandAsync("EHLO client.example"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync($"MAIL FROM:<{from}>"));
        foreach (var r in rcpts) Assert.Equal("250 2.1.5 Ok", await c.CommandAsync($"RCPT TO:<{r}>"));
        Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.CommandAsync($"Subject: test\r\n\r\n{body}\r\n."));
    }

    private static async Task<string> RcptAsync(TestServer server, string rcpt)
    {
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250 ", await c.CommandAsync("EHLO client.example"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<bob@remote.example>"));
        return await c.CommandAsync($"RCPT TO:<{rcpt}>");
    }

    private static Task<TestServer> StartAsync(string aliases, string mainCf = "")
        => TestServer.StartAsync("alias_maps = hash:$config_directory/aliases\n" + mainCf,
            prepare: dir => File.WriteAllText(Path.Combine(dir, "aliases"), aliases.Replace("DIR", dir)));

    private static async Task<string> WaitForFileAsync(string path)
    {
        for (int i = 0; i < 150 && !File.Exists(path); i++) await Task.Delay(100);
        await Task.Delay(200);
        return File.ReadAllText(path);
    }

    [Fact]
    public async Task CommandAliasGetsTheMessageOnStdinWithACleanPostfixEnvironment()
    {
        Environment.SetEnvironmentVariable("OMOIKANE_TEST_LEAK", "leaked");
        await using var server = await StartAsync("pipe: \"|cat > DIR/out.txt; env > DIR/env.txt\"\n", "recipient_delimiter = +\n");
        await SendAsync(server, "bob@remote.example", ["pipe+ext@example.test"]);
        await server.WaitForLogAsync("to=<pipe+ext@example.test>", "relay=local", "status=sent (delivered to command: cat > ");
        var env = await WaitForFileAsync(Path.Combine(server.Directory, "env.txt"));
        var output = await WaitForFileAsync(Path.Combine(server.Directory, "out.txt"));
        Assert.Matches(@"^From bob@remote\.example  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n", output);
        Assert.Contains("Return-Path: <bob@remote.example>\n", output);
        Assert.Contains("Delivered-To: pipe+ext@example.test\n", output);
        Assert.EndsWith("\n\nbody\n", output);
        foreach (var line in new[] { "SENDER=bob@remote.example", "RECIPIENT=pipe+ext@example.test", "ORIGINAL_RECIPIENT=pipe+ext@example.test",
                     "LOCAL=pipe+ext", "DOMAIN=example.test", "EXTENSION=ext", "SHELL=/bin/sh", "CLIENT_ADDRESS=127.0.0.1" })
            Assert.Contains(line, env.Split('\n'));
        Assert.Contains(env.Split('\n'), l => l.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.DoesNotContain("OMOIKANE_TEST_LEAK", env);
        await server.WaitForLogAsync(": removed");
    }

    [Fact]
    public async Task CommandExitStatusesDeferOrBounceAsPostfixSysExits()
    {
        await using var server = await StartAsync("tempfail: \"|exit 75\"\nnouser: \"|echo gone away; exit 67\"\nodd: \"|exit 3\"\n",
            "recipient_delimiter = +\n");
        server.AddUser("alice@example.test", "pw");
        await SendAsync(server, "alice@example.test", ["tempfail@example.test"]);
        await server.WaitForLogAsync("to=<tempfail@example.test>", "dsn=4.3.0", "status=deferred (temporary failure)");
        await SendAsync(server, "alice@example.test", ["nouser@example.test"]);
        await server.WaitForLogAsync("to=<nouser@example.test>", "dsn=5.1.1", "status=bounced (user unknown. Command output: gone away)");
        await SendAsync(server, "alice@example.test", ["odd@example.test"]);
        await server.WaitForLogAsync("to=<odd@example.test>", "dsn=5.3.0", "status=bounced (Command died with status 3: \"exit 3\")");
        var bounces = await server.WaitForMailAsync("example.test", "alice", count: 2);
        Assert.Contains(bounces, b => File.ReadAllText(b).Contains("gone away"));
        Assert.Single(server.Host.Spool.ListIds());   // the tempfail message, waiting for its retry
    }

    [Fact]
    public async Task CommandPastCommandTimeLimitIsKilledAndBounced()
    {
        await using var server = await StartAsync("slow: \"|sleep 30\"\n", "command_time_limit = 1s\n");
        var started = DateTime.UtcNow;
        await SendAsync(server, "", ["slow@example.test"]);
        await server.WaitForLogAsync("to=<slow@example.test>", "status=bounced (Command time limit exceeded: \"sleep 30\")");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task FileAliasAppendsMboxWithFromLinesQuotedUnderLock()
    {
        await using var server = await StartAsync("archive: DIR/archive.mbox\n");
        await SendAsync(server, "bob@remote.example", ["archive@example.test"], "From here on\r\n>From stays");
        await SendAsync(server, "", ["archive@example.test"], "second");
        await server.WaitForLogAsync("to=<archive@example.test>", "status=sent (delivered to file: ");
        var path = Path.Combine(server.Directory, "archive.mbox");
        for (int i = 0; i < 100 && !File.ReadAllText(path).Contains("second"); i++) await Task.Delay(100);
        var mbox = File.ReadAllText(path);
        Assert.Equal(2, mbox.Split('\n').Count(l => l.StartsWith("From ", StringComparison.Ordinal)));
        // Only lines starting "From " are quoted (Postfix mail_copy); ">From" stays as it was.
        Assert.Contains("\n>From here on\n>From stays\n\n", mbox, StringComparison.Ordinal);
        Assert.Contains("From MAILER-DAEMON  ", mbox);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task IncludeListsAndRestrictionsDecideAtRcpt()
    {
        await using var server = await StartAsync(
            "inc: :include:DIR/list\nincpipe: :include:DIR/pipes\nmissing: :include:DIR/none\nnocmd: \"|/bin/true\"\n",
            "allow_mail_to_commands = forward\n");
        File.WriteAllText(Path.Combine(server.Directory, "list"), "# the team\nalice,\n  carol\n");
        File.WriteAllText(Path.Combine(server.Directory, "pipes"), "\"|/bin/true\"\n");
        server.AddUser("alice@example.test", "pw");
        server.AddUser("carol@example.test", "pw");
        Assert.Equal("250 2.1.5 Ok", await RcptAsync(server, "inc@example.test"));
        foreach (var name in new[] { "incpipe", "missing", "nocmd" })
            Assert.Equal($"550 5.1.1 <{name}@example.test>: Recipient address rejected: User unknown in local recipient table",
                await RcptAsync(server, $"{name}@example.test"));
        await SendAsync(server, "bob@remote.example", ["inc@example.test"]);
        Assert.Single(await server.WaitForMailAsync("example.test", "alice"));
        Assert.Single(await server.WaitForMailAsync("example.test", "carol"));
    }

    [Fact]
    public async Task DirectoryAliasWithTrailingSlashIsAMaildir()
    {
        await using var server = await StartAsync("box: DIR/shared/\n");
        await SendAsync(server, "bob@remote.example", ["box@example.test"]);
        await server.WaitForLogAsync("to=<box@example.test>", "status=sent (delivered to maildir ");
        var msg = Assert.Single(Directory.GetFiles(Path.Combine(server.Directory, "shared", "new")));
        Assert.Contains("Delivered-To: box@example.test\n", File.ReadAllText(msg));
        Assert.True(Directory.Exists(Path.Combine(server.Directory, "shared", "tmp")));
    }
}
