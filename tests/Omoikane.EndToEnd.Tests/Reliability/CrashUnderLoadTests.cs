using System.Collections.Concurrent;
using Omoikane.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// kill -9 at random moments under load: every message that got a 250 is delivered, none twice.
/// Messages that got no reply (the kill came first) may or may not be delivered.
/// </summary>
public sealed class CrashUnderLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KillingTheServerUnderLoadLosesAndDuplicatesNothingAcknowledged()
    {
        const int Sessions = 4, Kills = 4, Seed = 20240607;
        var random = new Random(Seed);
        await using var server = await ChildServer.CreateAsync("", "alice@example.test");
        await server.StartAsync();

        var sent = new ConcurrentDictionary<string, bool>();        // subject -> DATA body fully written
        var acknowledged = new ConcurrentDictionary<string, bool>();
        using var stop = new CancellationTokenSource();
        int serial = 0;

        async Task ClientAsync(int session)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var c = await Hostile.OpenSmtpAsync(server.Smtp);
                    while (!stop.IsCancellationRequested)
                    {
                        var subject = $"load-{session}-{Interlocked.Increment(ref serial)}";
                        await c.SendAsync($"MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
                        await c.ReplyAsync(); await c.ReplyAsync();
                        if (!(await c.ReplyAsync()).StartsWith("354", StringComparison.Ordinal)) break;
                        await c.SendAsync($"Subject: {subject}\r\nMessage-ID: <{subject}@client.example>\r\n\r\n{new string('x', 2000)}\r\n.\r\n");
                        sent[subject] = true;
                        var reply = await c.ReplyAsync();
                        if (reply.StartsWith("250 2.0.0 Ok: queued as ", StringComparison.Ordinal)) acknowledged[subject] = true;
                    }
                }
                catch (Exception ex) when (ex is IOException or TimeoutException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    await Task.Delay(50); // the server was killed: reconnect once it is back
                }
            }
        }

        var clients = Enumerable.Range(0, Sessions).Select(i => Task.Run(() => ClientAsync(i))).ToArray();
        for (int k = 0; k < Kills; k++)
        {
            await Task.Delay(random.Next(300, 1500));
            await server.KillAsync();
            await Task.Delay(random.Next(0, 300));
            await server.StartAsync();
        }
        await Task.Delay(random.Next(300, 1000));
        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));

        // Let the queue drain, then count.
        var deadline = Environment.TickCount64 + 60000;
        while (Environment.TickCount64 < deadline
               && (server.Delivered("example.test", "alice").Length < acknowledged.Count
                   || Directory.EnumerateFiles(Path.Combine(server.DataDirectory, "queue", "messages")).Any()))
            await Task.Delay(200);
        await Task.Delay(1000); // a duplicate would show up now

        var delivered = server.Delivered("example.test", "alice").Select(Hostile.SubjectOf).ToList();
        var counts = delivered.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        var lost = acknowledged.Keys.Where(s => !counts.ContainsKey(s)).ToList();
        var duplicated = counts.Where(kv => kv.Value > 1).Select(kv => kv.Key).ToList();
        var unacknowledgedDelivered = counts.Keys.Count(s => !acknowledged.ContainsKey(s));
        var figures = $"kills={Kills} sessions={Sessions} sent={sent.Count} acknowledged={acknowledged.Count} " +
                      $"delivered={delivered.Count} (of which unacknowledged={unacknowledgedDelivered}) lost={lost.Count} duplicated={duplicated.Count}";
        output.WriteLine(figures);

        Assert.True(acknowledged.Count >= 20, figures);
        Assert.Empty(lost);
        Assert.Empty(duplicated);
        Assert.All(counts.Keys, s => Assert.True(sent.ContainsKey(s), "delivered but never sent: " + s));
    }

    [Fact]
    public async Task KillDuringPop3SessionAfterDeleDeletesNothing()
    {
        await using var server = await ChildServer.CreateAsync("", "alice@example.test");
        await server.StartAsync();
        await using (var c = await Hostile.OpenSmtpAsync(server.Smtp))
            for (int i = 0; i < 3; i++)
                Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.SendMessageAsync("bob@remote.example", "alice@example.test", $"keep-{i}"));
        var deadline = Environment.TickCount64 + 15000;
        while (server.Delivered("example.test", "alice").Length < 3 && Environment.TickCount64 < deadline) await Task.Delay(50);
        Assert.Equal(3, server.Delivered("example.test", "alice").Length);

        await using (var p = await RawSmtpClient.ConnectAsync(server.Pop3))
        {
            Assert.StartsWith("+OK ", await p.ReadLineAsync());
            Assert.Equal("+OK", await p.Pop3Async("USER alice@example.test"));
            Assert.StartsWith("+OK Logged in, 3 messages", await p.Pop3Async("PASS pw"));
            for (int i = 1; i <= 3; i++) Assert.Equal("+OK Marked to be deleted.", await p.Pop3Async($"DELE {i}"));
            await server.KillAsync();
        }
        Assert.Equal(3, server.Delivered("example.test", "alice").Length);
        await server.StartAsync();
        await using (var p = await RawSmtpClient.ConnectAsync(server.Pop3))
        {
            Assert.StartsWith("+OK ", await p.ReadLineAsync());
            Assert.Equal("+OK", await p.Pop3Async("USER alice@example.test"));
            // The lock died with the process: no [IN-USE], and all three messages are there.
            Assert.StartsWith("+OK Logged in, 3 messages", await p.Pop3Async("PASS pw"));
            Assert.StartsWith("+OK Logging out, 0 messages deleted", await p.Pop3Async("QUIT"));
        }
        Assert.Equal(3, server.Delivered("example.test", "alice").Length);
    }
}
