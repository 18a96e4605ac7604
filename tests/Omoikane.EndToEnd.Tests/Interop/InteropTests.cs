using System.Text;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Interop;

/// <summary>Real client programs from Debian against the running server.</summary>
public sealed class InteropTests
{
    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:587 inet n - n - - smtpd
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_tls_security_level=may
        127.0.0.1:465 inet n - n - - smtpd
          -o smtpd_tls_wrappermode=yes
          -o smtpd_sasl_auth_enable=yes
        127.0.0.1:110 inet n - n - - pop3d
          -o pop3d_tls_security_level=none
        """;

    [SkippableFact]
    public async Task SwaksAuthenticatesWithCramMd5OverStartTlsAndRelays()
    {
        ExternalProgram.SkipUnlessInstalled("swaks", "swaks");
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32", MasterCf);
        server.AddUser("alice@example.test", "s3cret");
        var r = await ExternalProgram.RunAsync("swaks", ["--server", "127.0.0.1", "--port", server.Port("127.0.0.1:587").ToString(),
            "--tls", "--auth", "CRAM-MD5", "--auth-user", "alice@example.test", "--auth-password", "s3cret",
            "--from", "alice@example.test", "--to", "friend@elsewhere.example", "--helo", "laptop.example"]);
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("235 2.7.0 Authentication successful", r.Out);
        Assert.Contains("250 2.0.0 Ok: queued as", r.Out);
        await server.WaitForLogAsync("sasl_method=CRAM-MD5, sasl_username=alice@example.test");
    }

    [SkippableFact]
    public async Task SwaksOverImplicitTlsDeliversLocally()
    {
        ExternalProgram.SkipUnlessInstalled("swaks", "swaks");
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("alice@example.test", "s3cret");
        var r = await ExternalProgram.RunAsync("swaks", ["--server", "127.0.0.1", "--port", server.Port("127.0.0.1:465").ToString(),
            "--tlsc", "--auth", "PLAIN", "--auth-user", "alice@example.test", "--auth-password", "s3cret",
            "--from", "bob@remote.example", "--to", "alice@example.test", "--helo", "laptop.example"]);
        Assert.True(r.Code == 0, r.Out + r.Err);
        await server.WaitForMailAsync("example.test", "alice");
    }

    [SkippableFact]
    public async Task SwaksWrongPasswordIsRefused()
    {
        ExternalProgram.SkipUnlessInstalled("swaks", "swaks");
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("alice@example.test", "s3cret");
        var r = await ExternalProgram.RunAsync("swaks", ["--server", "127.0.0.1", "--port", server.Port("127.0.0.1:587").ToString(),
            "--tls", "--auth", "CRAM-MD5", "--auth-user", "alice@example.test", "--auth-password", "wrong",
            "--from", "alice@example.test", "--to", "friend@elsewhere.example"]);
        Assert.NotEqual(0, r.Code);
        Assert.Contains("535 5.7.8", r.Out);
    }

    private static async Task SendManyAsync(TestServer server, int count)
    {
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        await c.ReplyAsync();
        await c.CommandAsync("EHLO client.example");
        for (int i = 0; i < count; i++)
        {
            await c.SendAsync("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
            await c.ReplyAsync(); await c.ReplyAsync(); await c.ReplyAsync();
            await c.SendAsync($"Subject: message {i}\r\nMessage-ID: <m{i}@remote.example>\r\n\r\nbody {i}\r\n..dot {i}\r\n.\r\n");
            Assert.StartsWith("250 ", await c.ReplyAsync());
        }
        await server.WaitForMailAsync("example.test", "alice", count, 30000);
    }

    [SkippableFact]
    public async Task FetchmailRetrievesWithApop()
    {
        ExternalProgram.SkipUnlessInstalled("fetchmail", "fetchmail");
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("alice@example.test", "s3cret");
        await SendManyAsync(server, 3);
        var home = Path.Combine(server.Directory, "fetchmail");
        Directory.CreateDirectory(home);
        var outFile = Path.Combine(home, "mbox");
        var rc = Path.Combine(home, "fetchmailrc");
        File.WriteAllText(rc, $"""
            set no syslog
            poll 127.0.0.1 port {server.Port("127.0.0.1:110")} proto APOP
              user "alice@example.test" password "s3cret" is "tester" here
              no keep fetchall sslproto '' mda "/bin/sh -c 'cat >> {outFile}'"
            """);
        File.SetUnixFileMode(rc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var r = await ExternalProgram.RunAsync("fetchmail", ["-f", rc, "-v", "--nodetach"], env: new Dictionary<string, string> { ["FETCHMAILHOME"] = home, ["HOME"] = home });
        Assert.True(r.Code == 0, r.Out + r.Err);
        var mbox = File.ReadAllText(outFile);
        for (int i = 0; i < 3; i++) Assert.Contains($"Subject: message {i}", mbox);
        Assert.Contains(".dot 2", mbox);
        await server.WaitForLogAsync("pop3-login: Login: user=<alice@example.test>, method=APOP");
        Assert.Empty(Directory.GetFiles(Path.Combine(server.Host.Config.MailboxBase, "example.test", "alice", "cur")));
    }

    [SkippableFact]
    public async Task Getmail6DownloadsAHundredMessages()
    {
        ExternalProgram.SkipUnlessInstalled("getmail", "getmail6");
        await using var server = await TestServer.StartAsync("", MasterCf);
        server.AddUser("alice@example.test", "s3cret");
        await SendManyAsync(server, 100);
        var dir = Path.Combine(server.Directory, "getmail");
        var dest = Path.Combine(dir, "Maildir");
        foreach (var sub in new[] { "cur", "new", "tmp" }) Directory.CreateDirectory(Path.Combine(dest, sub));
        File.WriteAllText(Path.Combine(dir, "getmailrc"), $"""
            [retriever]
            type = SimplePOP3Retriever
            server = 127.0.0.1
            port = {server.Port("127.0.0.1:110")}
            username = alice@example.test
            password = s3cret

            [destination]
            type = MDA_external
            path = /bin/sh
            arguments = ("-c", "cat > $(mktemp {dest}/new/msg.XXXXXX)")
            allow_root_commands = true

            [options]
            read_all = true
            delete = true
            verbose = 1
            """);
        var r = await ExternalProgram.RunAsync("getmail", ["--getmaildir", dir, "--rcfile", "getmailrc"]);
        Assert.True(r.Code == 0, r.Out + r.Err);
        var got = Directory.GetFiles(Path.Combine(dest, "new"));
        Assert.Equal(100, got.Length);
        var subjects = got.Select(f => File.ReadLines(f).First(l => l.StartsWith("Subject: "))).ToHashSet();
        Assert.Equal(100, subjects.Count);
        Assert.Empty(Directory.GetFiles(Path.Combine(server.Host.Config.MailboxBase, "example.test", "alice", "cur")));
    }
}
