using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>mailbox_size_limit and virtual_mailbox_limit over real sessions: too large a message file bounces (5.2.2), smaller ones are delivered.</summary>
public sealed class MailboxLimitTests
{
    private static async Task SendAsync(TestServer server, string rcpt, int bodyBytes)
    {
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
        Assert.StartsWith("220 ", await c.ReplyAsync());
        Assert.StartsWith("250 ", await c.CommandAsync("EHLO client.example"));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<alice@example.test>"));
        Assert.Equal("250 2.1.5 Ok", await c.CommandAsync($"RCPT TO:<{rcpt}>"));
        Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
        var body = string.Join("\r\n", Enumerable.Repeat(new string('x', 99), bodyBytes / 101 + 1));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.CommandAsync($"Subject: size\r\n\r\n{body}\r\n."));
    }

    [Theory]
    [InlineData("mailbox_size_limit = 3000")]
    [InlineData("virtual_mailbox_limit = 3000")]
    public async Task AMaildirMessageFileOverTheLimitBouncesAndASmallerOneIsDelivered(string limit)
    {
        await using var server = await TestServer.StartAsync(limit);
        server.AddUser("alice@example.test", "pw");
        server.AddUser("bob@example.test", "pw");
        await SendAsync(server, "bob@example.test", 1000);
        Assert.Single(await server.WaitForMailAsync("example.test", "bob"));
        await SendAsync(server, "bob@example.test", 5000);
        await server.WaitForLogAsync("to=<bob@example.test>", "dsn=5.2.2", "status=bounced (maildir delivery failed: error writing message: File too large)");
        var bounce = Assert.Single(await server.WaitForMailAsync("example.test", "alice"));
        Assert.Contains("File too large", File.ReadAllText(bounce));
        Assert.Single(System.IO.Directory.GetFiles(server.MaildirNew("example.test", "bob")));
    }

    [Fact]
    public async Task AnMboxFileIsLimitedAsAWholeByMailboxSizeLimit()
    {
        await using var server = await TestServer.StartAsync("alias_maps = hash:$config_directory/aliases\nmailbox_size_limit = 4000",
            prepare: dir => File.WriteAllText(Path.Combine(dir, "aliases"), $"archive: {dir}/archive.mbox\n"));
        server.AddUser("alice@example.test", "pw");
        await SendAsync(server, "archive@example.test", 2500);
        await server.WaitForLogAsync("to=<archive@example.test>", "status=sent (delivered to file: ");
        await SendAsync(server, "archive@example.test", 2500);
        await server.WaitForLogAsync("to=<archive@example.test>", "dsn=5.2.2", "status=bounced (cannot update mailbox ", "File too large)");
        var mbox = File.ReadAllText(Path.Combine(server.Directory, "archive.mbox"));
        Assert.Single(mbox.Split('\n'), l => l.StartsWith("From ", StringComparison.Ordinal));
    }
}
