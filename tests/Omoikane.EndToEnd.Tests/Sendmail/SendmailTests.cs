using System.Text.RegularExpressions;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Sendmail;

/// <summary>omoikane run as sendmail, mailq and newaliases (symlinks to the built program), against a real server.</summary>
public sealed class SendmailTests
{
    [Fact]
    public async Task DashTTakesRecipientsFromHeadersRemovesBccAndAddsTheMissingFields()
    {
        await using var s = await LocalSubmission.CreateAsync();
        var r = await s.RunAsync("sendmail", "To: Alice <alice@example.test>\nBcc: alice@example.test\nSubject: report\n\nline one\n.\nline after a lone dot\n", "-t", "-i", "-F", "Report Robot");
        Assert.True(r.Code == 0, r.Err);
        var msg = Assert.Single(await s.WaitForAliceAsync());
        Assert.Null(LocalSubmission.Field(msg, "Bcc"));
        Assert.Matches(@"^by mail\.example\.test \(Omoikane, from userid 0\) id [0-9A-F]+; \w{3}, \d+ \w{3} \d{4}", LocalSubmission.Field(msg, "Received"));
        Assert.Equal("\"Report Robot\" <root@mail.example.test>", LocalSubmission.Field(msg, "From"));
        Assert.NotNull(LocalSubmission.Field(msg, "Date"));
        Assert.Matches(@"^<\d{14}\.[0-9A-F]+@mail\.example\.test>$", LocalSubmission.Field(msg, "Message-ID"));
        Assert.Contains("Return-Path: <root@mail.example.test>", msg);
        Assert.Contains("\n\nline one\n.\nline after a lone dot\n", msg); // -i: the lone dot is content
        var log = s.Maillog();
        var id = Regex.Match(LocalSubmission.Field(msg, "Received")!, @"id ([0-9A-F]+);").Groups[1].Value;
        Assert.Matches($@"postfix-omoikane/pickup\[\d+\]: {id}: uid=0 from=<root>", log);
        Assert.Matches($@"postfix-omoikane/cleanup\[\d+\]: {id}: message-id=<", log);
        Assert.Matches($@"postfix-omoikane/qmgr\[\d+\]: {id}: from=<root@mail\.example\.test>, size=\d+, nrcpt=1 \(queue active\)", log);
    }

    [Fact]
    public async Task MessageWrittenWhileTheServerIsStoppedIsDeliveredWhenItStarts()
    {
        await using var s = await LocalSubmission.CreateAsync(start: false);
        // Recipients as arguments, -f for the envelope sender, no -i: a lone dot ends the message.
        var r = await s.RunAsync("sendmail", "From: Cron Daemon <cron@example.test>\nSubject: nightly\n\nok\n.\nnot part of it\n", "-f", "cron@example.test", "--", "alice@example.test");
        Assert.True(r.Code == 0, r.Err);
        Assert.Single(Directory.GetFiles(s.Maildrop)); // waiting for the server
        Assert.Empty(s.Server.Delivered("example.test", "alice"));
        await s.Server.StartAsync();
        var msg = Assert.Single(await s.WaitForAliceAsync());
        Assert.Contains("Return-Path: <cron@example.test>", msg);
        Assert.Equal("Cron Daemon <cron@example.test>", LocalSubmission.Field(msg, "From")); // kept as written
        Assert.EndsWith("\n\nok\n", msg);
        Assert.Empty(Directory.GetFiles(s.Maildrop));
    }

    [Fact]
    public async Task MessageDroppedWhileRunningIsPickedUpWithinSeconds()
    {
        await using var s = await LocalSubmission.CreateAsync();
        var started = Environment.TickCount64;
        var r = await s.RunAsync("sendmail", "Subject: quick\n\nhello\n", "alice");   // a bare name gets @$myorigin
        Assert.True(r.Code == 0, r.Err);
        await s.RunAsync("sendmail", "Subject: quick2\n\nhello\n", "alice@example.test");
        var msgs = await s.WaitForAliceAsync(1, 10000);
        Assert.Single(msgs);
        Assert.True(Environment.TickCount64 - started < 10000);
        Assert.Matches(@"to=<alice@mail\.example\.test>", s.Maillog()); // alice@$myorigin, not a local domain here
    }

    [Fact]
    public async Task DashBsSpeaksSmtpOnStdinAndStdout()
    {
        await using var s = await LocalSubmission.CreateAsync();
        var r = await s.RunAsync("sendmail", "EHLO client\r\nMAIL FROM:<bs@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: bs\r\n\r\n..dot-stuffed\r\n.\r\nQUIT\r\n", "-bs");
        Assert.True(r.Code == 0, r.Err);
        Assert.StartsWith("220 mail.example.test ESMTP", r.Out);
        Assert.Matches(@"\r\n250 2\.0\.0 Ok: queued as [0-9a-f]+\r\n221 2\.0\.0 Bye\r\n$", r.Out);
        var msg = Assert.Single(await s.WaitForAliceAsync());
        Assert.Contains("Return-Path: <bs@example.test>", msg);
        Assert.EndsWith("\n\n.dot-stuffed\n", msg);
    }

    [Fact]
    public async Task UsageErrorsUsePostfixWordingAndExitCodes()
    {
        await using var s = await LocalSubmission.CreateAsync(start: false);
        var bad = await s.RunAsync("sendmail", "", "-z", "alice@example.test");
        Assert.Equal(64, bad.Code);
        Assert.Equal("sendmail: invalid option -- 'z'\nsendmail: fatal: usage: sendmail [options]\n", bad.Err);
        var none = await s.RunAsync("sendmail", "Subject: x\n\nx\n");
        Assert.Equal(64, none.Code);
        Assert.Equal("sendmail: fatal: root(0): Recipient addresses must be specified on the command line or via the -t option\n", none.Err);
        var noHeader = await s.RunAsync("sendmail", "Subject: x\n\nx\n", "-t");
        Assert.Equal(64, noHeader.Code);
        Assert.Equal("sendmail: fatal: root(0): No recipient addresses found in message header\n", noHeader.Err);
        var bd = await s.RunAsync("sendmail", "", "-bd");
        Assert.Equal(64, bd.Code);
        Assert.Equal("sendmail: fatal: unsupported: -bd\n", bd.Err);
        // Options Postfix ignores are ignored: -oi (as -i), -oem, -v, -N, -R, -V.
        var ignored = await s.RunAsync("sendmail", "Subject: x\n\nx\n", "-oi", "-oem", "-v", "-N", "never", "-R", "hdrs", "-Vid", "alice@example.test");
        Assert.True(ignored.Code == 0, ignored.Err);
        Assert.Single(Directory.GetFiles(s.Maildrop));
        var bi = await s.RunAsync("sendmail", null, "-bi");
        Assert.True(bi.Code == 0, bi.Err);
    }

    [Fact]
    public async Task MailqAndNewaliasesAreTheProgramsOfThoseNames()
    {
        await using var s = await LocalSubmission.CreateAsync(start: false);
        var empty = await s.RunAsync("mailq", null);
        Assert.Equal((0, "Mail queue is empty\n"), (empty.Code, empty.Out));
        Assert.Equal(0, (await s.RunAsync("newaliases", null)).Code);
        File.AppendAllText(Path.Combine(s.Server.Directory, "main.cf"), "alias_maps = hash:" + Path.Combine(s.Server.Directory, "aliases") + "\n");
        File.WriteAllText(Path.Combine(s.Server.Directory, "aliases"), "postmaster: root\nbroken line without colon\n");
        var broken = await s.RunAsync("newaliases", null);
        Assert.NotEqual(0, broken.Code);
        Assert.Contains("aliases", broken.Err);
    }

    [Fact]
    public async Task MalformedOrForgedMaildropFilesAreMovedAsideAndTheServerGoesOn()
    {
        await using var s = await LocalSubmission.CreateAsync();
        await s.RunAsync("sendmail", "Subject: warm\n\nx\n", "alice@example.test");
        Assert.Single(await s.WaitForAliceAsync());
        File.WriteAllText(Path.Combine(s.Maildrop, "garbage"), "not a maildrop file\n");
        File.WriteAllText(Path.Combine(s.Maildrop, "norecipient"), "OMOIKANE-MAILDROP 1\nS a@example.test\n\nSubject: x\n\nx\n");
        File.CreateSymbolicLink(Path.Combine(s.Maildrop, "link"), "/etc/passwd");
        File.WriteAllText(Path.Combine(s.Server.Directory, "other"), "OMOIKANE-MAILDROP 1\nR alice@example.test\n\nSubject: hard link\n\nx\n");
        Assert.Equal(0, (await ExternalProgram.RunAsync("ln", [Path.Combine(s.Server.Directory, "other"), Path.Combine(s.Maildrop, "hardlink")])).Code);
        var deadline = Environment.TickCount64 + 15000;
        while (Directory.GetFileSystemEntries(s.Maildrop).Length > 0 && Environment.TickCount64 < deadline) await Task.Delay(100);
        Assert.Empty(Directory.GetFileSystemEntries(s.Maildrop));
        foreach (var name in new[] { "garbage", "norecipient", "link", "hardlink" })
            Assert.True(Path.Exists(Path.Combine(s.CorruptDir, "maildrop." + name)), name);
        // The maillog writer gathers lines on a thread of its own: the warnings may trail the moves by a moment.
        var log = s.Maillog();
        var logDeadline = Environment.TickCount64 + 10000;
        while (!log.Contains("maildrop/hardlink", StringComparison.Ordinal) && Environment.TickCount64 < logDeadline)
        {
            await Task.Delay(100);
            log = s.Maillog();
        }
        Assert.Contains("pickup", log);
        Assert.Matches(@"pickup\[\d+\]: warning: maildrop/garbage: uid=0: not a maildrop file; moved to corrupt/maildrop\.garbage", log);
        Assert.Matches(@"warning: maildrop/link: not a regular file", log);
        Assert.Matches(@"warning: maildrop/hardlink: file has more than one link", log);
        await s.RunAsync("sendmail", "Subject: after\n\nx\n", "alice@example.test");
        var msgs = await s.WaitForAliceAsync(2);
        Assert.Equal(2, msgs.Length);
        Assert.DoesNotContain(msgs, m => m.Contains("root:x:0:0"));
    }
}
