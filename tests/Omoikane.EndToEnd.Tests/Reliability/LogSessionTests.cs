using System.Text.RegularExpressions;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// Each session logs under a number of its own in the pid field ("smtpd[N]"), as Postfix's process per
/// session does, so a reader can follow one session among interleaved ones.
/// </summary>
public sealed class LogSessionTests
{
    private static readonly Regex Program = new(@"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ postfix-omoikane/(?<program>\w+)\[(?<pid>\d+)\]: (?<text>.*)$");

    [Fact]
    public async Task InterleavedSessionsAreToldApartByTheirNumbers()
    {
        await using var server = await TestServer.StartAsync();
        server.AddUser("alice@example.test", "pw");
        await using var a = await Hostile.OpenSmtpAsync(server.EndPoint(), "a.example");
        await using var b = await Hostile.OpenSmtpAsync(server.EndPoint(), "b.example");
        // Interleaved: a rejected recipient in each, then a message from each.
        Assert.StartsWith("250", await a.CommandAsync("MAIL FROM:<a@remote.example>"));
        Assert.StartsWith("250", await b.CommandAsync("MAIL FROM:<b@remote.example>"));
        Assert.StartsWith("550", await a.CommandAsync("RCPT TO:<nobody-a@example.test>"));
        Assert.StartsWith("550", await b.CommandAsync("RCPT TO:<nobody-b@example.test>"));
        await a.CommandAsync("RSET");
        await b.CommandAsync("RSET");
        Assert.StartsWith("250", await a.SendMessageAsync("a@remote.example", "alice@example.test", "from-a"));
        Assert.StartsWith("250", await b.SendMessageAsync("b@remote.example", "alice@example.test", "from-b"));
        await a.CommandAsync("QUIT");
        await b.CommandAsync("QUIT");
        await server.WaitForMailAsync("example.test", "alice", 2);
        var last = await WaitForLinesAsync(server, l => l.Contains("disconnect from"), 2);

        var smtpd = last.Select(l => Program.Match(l)).Where(m => m.Success && m.Groups["program"].Value == "smtpd").ToList();
        var rejects = smtpd.Where(m => m.Groups["text"].Value.Contains("NOQUEUE: reject: RCPT")).ToList();
        Assert.Equal(2, rejects.Count);
        var pidA = rejects.Single(m => m.Groups["text"].Value.Contains("helo=<a.example>")).Groups["pid"].Value;
        var pidB = rejects.Single(m => m.Groups["text"].Value.Contains("helo=<b.example>")).Groups["pid"].Value;
        Assert.NotEqual(pidA, pidB);
        // Each session's lines, followed by its number: connect, reject, client= of its queue id, disconnect.
        foreach (var pid in new[] { pidA, pidB })
        {
            var own = smtpd.Where(m => m.Groups["pid"].Value == pid).Select(m => m.Groups["text"].Value).ToList();
            Assert.Equal(1, own.Count(t => t.StartsWith("connect from ", StringComparison.Ordinal)));
            Assert.Equal(1, own.Count(t => t.Contains("NOQUEUE: reject: RCPT")));
            Assert.Equal(1, own.Count(t => Regex.IsMatch(t, @"^[0-9A-F]+: client=")));
            Assert.Equal(1, own.Count(t => t.StartsWith("disconnect from ", StringComparison.Ordinal)));
        }
        // The master's lines carry the process id, which no session is given.
        var master = last.Select(l => Program.Match(l)).First(m => m.Success && m.Groups["program"].Value == "master").Groups["pid"].Value;
        Assert.Equal(Environment.ProcessId.ToString(), master);
        Assert.DoesNotContain(master, new[] { pidA, pidB });
        // Deliveries log under the delivery agent's number, not a session's.
        var local = last.Select(l => Program.Match(l)).Where(m => m.Success && m.Groups["program"].Value == "local").ToList();
        Assert.NotEmpty(local);
        Assert.All(local, m => Assert.DoesNotContain(m.Groups["pid"].Value, new[] { pidA, pidB, master }));
    }

    private static async Task<string[]> WaitForLinesAsync(TestServer server, Func<string, bool> match, int count)
    {
        for (int i = 0; i < 400; i++)
        {
            using var fs = new FileStream(server.MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var lines = (await new StreamReader(fs).ReadToEndAsync()).Split('\n');
            if (lines.Count(match) >= count && lines.Count(l => l.Contains("status=sent")) >= 2) return lines;
            await Task.Delay(25);
        }
        throw new TimeoutException("maillog lines not written");
    }
}
