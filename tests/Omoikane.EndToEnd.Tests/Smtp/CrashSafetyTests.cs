using System.Diagnostics;
using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>kill -9 right after the 250: every acknowledged message is delivered once after restart.</summary>
public sealed class CrashSafetyTests
{
    [Fact]
    public async Task MessagesAcknowledgedBeforeKillAreDeliveredExactlyOnceAfterRestart()
    {
        var dir = Path.Combine(Path.GetTempPath(), "omoikane-crash-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var port = OmoikaneProcess.FreePort();
        File.WriteAllText(Path.Combine(dir, "main.cf"), $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = {dir}/data\n{TestDns.MainCfLine}\n");
        File.WriteAllText(Path.Combine(dir, "master.cf"), $"127.0.0.1:{port} inet n - n - - smtpd\n");
        var add = await OmoikaneProcess.RunAsync(dir, "pw\n", "user", "add", "alice@example.test", "--password-stdin", "--config", dir);
        Assert.Equal(0, add.Code);

        const int Rounds = 3, PerRound = 5;
        var acknowledged = new List<string>();
        for (int round = 0; round < Rounds; round++)
        {
            var server = await OmoikaneProcess.StartServerAsync(dir, dir, port);
            try
            {
                await using var c = await RawSmtpClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                await c.ReplyAsync();
                await c.CommandAsync("EHLO crash.example");
                for (int i = 0; i < PerRound; i++)
                {
                    var subject = $"crash-{round}-{i}";
                    await c.SendAsync($"MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                    await c.ReplyAsync(); await c.ReplyAsync(); await c.ReplyAsync();
                    await c.SendAsync($"Subject: {subject}\r\n\r\nbody\r\n.\r\n");
                    var reply = await c.ReplyAsync();
                    Assert.StartsWith("250 2.0.0 Ok: queued as ", reply);
                    acknowledged.Add(subject);
                }
            }
            finally
            {
                server.Kill(entireProcessTree: true); // SIGKILL, right after the last 250
                await server.WaitForExitAsync();
            }
        }
        // One more start lets the queue drain.
        var final = await OmoikaneProcess.StartServerAsync(dir, dir, port);
        try
        {
            var newDir = Path.Combine(dir, "data", "mail", "example.test", "alice", "new");
            var deadline = Environment.TickCount64 + 30000;
            while (Environment.TickCount64 < deadline && (!Directory.Exists(newDir) || Directory.GetFiles(newDir).Length < acknowledged.Count))
                await Task.Delay(100);
            await Task.Delay(1000); // anything delivered twice would show up now
            var subjects = Directory.GetFiles(newDir)
                .Select(f => File.ReadLines(f).First(l => l.StartsWith("Subject: "))["Subject: ".Length..]).ToList();
            Assert.Equal(acknowledged.OrderBy(s => s), subjects.OrderBy(s => s));
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "data", "queue", "messages")));
        }
        finally
        {
            final.Kill(true);
            await final.WaitForExitAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
