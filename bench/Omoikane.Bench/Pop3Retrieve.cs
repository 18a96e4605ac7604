using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Omoikane.Bench;

/// <summary>
/// POP3 retrieval: USER/PASS, LIST, RETR every listed message, QUIT. Nothing is deleted,
/// so the same maildrop can be read again. Reports messages/s and MB/s (octets as
/// received on the wire, terminators included).
/// </summary>
public static class Pop3Retrieve
{
    public static async Task<int> RunAsync(Options o)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(o.DeadlineSeconds));
        var sw = Stopwatch.StartNew();
        await using var c = await LineConnection.ConnectAsync(o.Host, o.Port, o.ReplyTimeout, deadline.Token);

        async Task<string> Command(string line)
        {
            await c.SendAsync(line + "\r\n");
            var (ok, text) = await c.ReadPop3StatusAsync();
            if (!ok) throw new IOException($"{line.Split(' ')[0]}: {text}");
            return text;
        }

        var (greetOk, greeting) = await c.ReadPop3StatusAsync();
        if (!greetOk) throw new IOException($"greeting: {greeting}");
        await Command($"USER {o.User}");
        await Command($"PASS {o.Password}");
        double loginSeconds = sw.Elapsed.TotalSeconds;

        // LIST: "n size" lines.
        await Command("LIST");
        var numbers = new List<int>();
        long listedOctets = 0;
        var buf = c.Buffer;
        await c.ReadPop3MultilineAsync((s, len) =>
        {
            string line = Encoding.ASCII.GetString(buf, s, len);
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            numbers.Add(int.Parse(parts[0], CultureInfo.InvariantCulture));
            listedOctets += long.Parse(parts[1], CultureInfo.InvariantCulture);
        });

        long bytesBefore = c.BytesRead;
        int retrieved = 0;
        foreach (int n in numbers)
        {
            if (deadline.IsCancellationRequested) break;
            await Command(string.Create(CultureInfo.InvariantCulture, $"RETR {n}"));
            await c.ReadPop3MultilineAsync();
            retrieved++;
        }
        await Command("QUIT");
        double total = sw.Elapsed.TotalSeconds;
        long bytes = c.BytesRead - bytesBefore;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pop3 target={o.Target} listed={numbers.Count} listed_octets={listedOctets} retrieved={retrieved} " +
            $"bytes={bytes} total_s={SmtpLoad.F(total)} login_s={SmtpLoad.F(loginSeconds)} " +
            $"msgs/s={SmtpLoad.F(retrieved / total)} MB/s={SmtpLoad.F(bytes / total / 1e6)}"));
        return retrieved == numbers.Count && retrieved > 0 ? 0 : 1;
    }
}
