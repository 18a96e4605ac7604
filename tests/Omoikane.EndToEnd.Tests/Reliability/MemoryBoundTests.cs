using System.Text;
using Omoikane.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>Memory stays bounded (the server's RSS, measured in /proc) against huge lines and floods.</summary>
public sealed class MemoryBoundTests(ITestOutputHelper output)
{
    private const long MiB = 1024;
    /// <summary>Generous: a server that buffered the 50 MB would grow by more than this.</summary>
    private const long MaxGrowthKib = 40 * MiB;

    private static async Task StreamAsync(RawSmtpClient c, long total, byte fill)
    {
        var chunk = new byte[256 * 1024];
        Array.Fill(chunk, fill);
        for (long sent = 0; sent < total; sent += chunk.Length) await c.SendAsync(chunk);
    }

    [SkippableFact]
    public async Task FiftyMegabyteLineWithoutNewlineKeepsMemoryBounded()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "RSS is read from /proc");
        await using var server = await ChildServer.CreateAsync("message_size_limit = 1000000", "alice@example.test");
        await server.StartAsync();
        await Hostile.AssertStillServesSmtpAsync(server.Smtp); // warm up
        var before = server.RssKib();
        long peak = before;
        await using (var c = await Hostile.OpenSmtpAsync(server.Smtp))
        {
            // A command line of 50 MB.
            await StreamAsync(c, 50L << 20, (byte)'A');
            peak = Math.Max(peak, server.RssKib());
            await c.SendAsync("\r\n");
            Assert.Equal("500 5.5.2 Error: line too long", await c.ReplyAsync(30000));
            peak = Math.Max(peak, server.RssKib());
            // A data line of 50 MB: streamed against message_size_limit, never held.
            await c.CommandAsync("MAIL FROM:<bob@remote.example>");
            await c.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.StartsWith("354", await c.CommandAsync("DATA"));
            await StreamAsync(c, 50L << 20, (byte)'B');
            peak = Math.Max(peak, server.RssKib());
            await c.SendAsync("\r\n.\r\n");
            Assert.Equal("552 5.3.4 Message size exceeds fixed limit", await c.ReplyAsync(30000));
            peak = Math.Max(peak, server.RssKib());
            Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        }
        await Hostile.AssertStillServesSmtpAsync(server.Smtp);
        output.WriteLine($"RSS before {before} KiB, peak {peak} KiB, growth {peak - before} KiB");
        Assert.InRange(peak - before, long.MinValue, MaxGrowthKib);
    }

    [SkippableFact]
    public async Task PipelinedFloodKeepsMemoryBounded()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "RSS is read from /proc");
        const int N = 1_000_000; // 6 MB of commands, 14 MB of replies
        await using var server = await ChildServer.CreateAsync("smtpd_junk_command_limit = 10000000");
        await server.StartAsync();
        await Hostile.AssertStillServesSmtpAsync(server.Smtp);
        var before = server.RssKib();
        long peak = before;
        await using (var c = await Hostile.OpenSmtpAsync(server.Smtp))
        {
            var block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("RSET\r\n", 10000)));
            var send = Task.Run(async () => { for (int i = 0; i < N / 10000; i++) await c.SendAsync(block); });
            int reads = 0;
            await Hostile.ExpectRepeatedAsync(c, "250 2.0.0 Ok\r\n", N, 60000, () => { if (++reads % 16 == 0) peak = Math.Max(peak, server.RssKib()); });
            await send;
            Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
        }
        peak = Math.Max(peak, server.RssKib());
        output.WriteLine($"RSS before {before} KiB, peak {peak} KiB, growth {peak - before} KiB");
        Assert.InRange(peak - before, long.MinValue, MaxGrowthKib);
    }
}
