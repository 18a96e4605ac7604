using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Omoikane.Bench;

/// <summary>
/// SMTP intake load: S sessions, each on one reused connection, send messages back to back
/// (MAIL, RCPT, DATA; a new MAIL after each 250) until N messages have been handed out in
/// total. Optionally waits for the accepted messages to be delivered (files in a Maildir's
/// new/, or the counter of an `smtp-sink -c`) and reports that rate too.
/// </summary>
public static class SmtpLoad
{
    private const int MaxReconnects = 20;      // per session, after a dropped connection

    public static async Task<int> RunAsync(Options o)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(o.DeadlineSeconds));
        byte[] body = MakeBody(o.Size);

        // Delivered-count baselines, so a non-empty Maildir or a reused sink still works.
        long maildirBase = o.Maildir != null ? CountMaildirNew(o.Maildir) : 0;
        long sinkBase = o.SinkCounter != null ? ReadSinkCounter(o.SinkCounter) : 0;

        var shared = new Shared(o.Messages);
        var sw = Stopwatch.StartNew();
        var sessions = new Task[o.Sessions];
        for (int i = 0; i < o.Sessions; i++)
        {
            int id = i;
            sessions[i] = Task.Run(() => SessionAsync(o, id, body, shared, sw, deadline.Token));
        }
        await Task.WhenAll(sessions);
        double acceptedSeconds = shared.LastAcceptTicks > 0 ? shared.LastAcceptTicks / (double)Stopwatch.Frequency : sw.Elapsed.TotalSeconds;

        // Wait for deliveries: bounded by --deliver-timeout and the overall deadline.
        string deliveredPart = "";
        if (o.Maildir != null || o.SinkCounter != null)
        {
            long want = shared.Accepted;
            long got = 0;
            double lastDeliverySeconds = double.NaN;
            var waitUntil = sw.Elapsed + TimeSpan.FromSeconds(o.DeliverTimeoutSeconds);
            long previous = -1;
            while (true)
            {
                got = o.Maildir != null ? CountMaildirNew(o.Maildir) - maildirBase : ReadSinkCounter(o.SinkCounter!) - sinkBase;
                if (got != previous) { lastDeliverySeconds = sw.Elapsed.TotalSeconds; previous = got; }
                if (got >= want || sw.Elapsed > waitUntil || deadline.IsCancellationRequested) break;
                await Task.Delay(20);
            }
            bool complete = got >= want;
            string rate = complete && want > 0 ? F(want / lastDeliverySeconds) : "NA";
            deliveredPart = $" delivered={got} delivered/s={rate} deliver_s={F(lastDeliverySeconds)}" +
                            (complete ? "" : " status=delivery-timeout");
        }

        var lat = shared.Latencies();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"smtp target={o.Target} S={o.Sessions} size={o.Size} sent={shared.Sent} accepted={shared.Accepted} " +
            $"rejected={shared.Rejected} errors={shared.Errors} pipelining={(shared.UsedPipelining ? 1 : 0)} " +
            $"accept_s={F(acceptedSeconds)} accepted/s={F(shared.Accepted / acceptedSeconds)}{deliveredPart} " +
            $"p50_ms={F(Percentile(lat, 0.50))} p99_ms={F(Percentile(lat, 0.99))} max_ms={F(Percentile(lat, 1.0))}"));
        if (shared.FirstError != null) Console.Error.WriteLine($"first error: {shared.FirstError}");
        return shared.Accepted == o.Messages ? 0 : 1;
    }

    /// <summary>State shared by all sessions of one run.</summary>
    private sealed class Shared(int total)
    {
        private int _next;
        public int Sent, Accepted, Rejected, Errors;
        public long LastAcceptTicks;
        public volatile bool UsedPipelining;
        public string? FirstError;
        private readonly List<double> _all = new(total);

        /// <summary>Claims the next message number, or -1 when all N are handed out.</summary>
        public int Claim()
        {
            // Never counts past N, so a message handed back by Unclaim is claimed again.
            while (true)
            {
                int cur = Volatile.Read(ref _next);
                if (cur >= total) return -1;
                if (Interlocked.CompareExchange(ref _next, cur + 1, cur) == cur) return cur + 1;
            }
        }

        /// <summary>Returns an unsent message to the pool (after a dropped connection).</summary>
        public void Unclaim() => Interlocked.Decrement(ref _next);

        public void Record(double ms, long nowTicks)
        {
            lock (_all) { _all.Add(ms); if (nowTicks > LastAcceptTicks) LastAcceptTicks = nowTicks; }
        }

        public void Error(string e)
        {
            Interlocked.Increment(ref Errors);
            Interlocked.CompareExchange(ref FirstError, e, null);
        }

        public double[] Latencies()
        {
            lock (_all) { var a = _all.ToArray(); Array.Sort(a); return a; }
        }
    }

    private static async Task SessionAsync(Options o, int id, byte[] body, Shared shared, Stopwatch sw, CancellationToken ct)
    {
        byte[] envelope = Encoding.ASCII.GetBytes($"MAIL FROM:<{o.From}>\r\nRCPT TO:<{o.Rcpt}>\r\nDATA\r\n");
        byte[] mail = Encoding.ASCII.GetBytes($"MAIL FROM:<{o.From}>\r\n");
        byte[] rcpt = Encoding.ASCII.GetBytes($"RCPT TO:<{o.Rcpt}>\r\n");
        byte[] data = Encoding.ASCII.GetBytes("DATA\r\n");
        byte[] rset = Encoding.ASCII.GetBytes("RSET\r\n");
        byte[] message = new byte[body.Length + 1024];
        var ehloLines = new List<string>();

        for (int attempt = 0; attempt <= MaxReconnects && !ct.IsCancellationRequested; attempt++)
        {
            int claimed = -1;
            try
            {
                await using var c = await LineConnection.ConnectAsync(o.Host, o.Port, o.ReplyTimeout, ct);
                var (code, text) = await c.ReadSmtpReplyAsync();
                if (code != 220) throw new IOException($"banner: {text}");
                ehloLines.Clear();
                await c.SendAsync($"EHLO {o.Helo}\r\n");
                (code, text) = await c.ReadSmtpReplyAsync(ehloLines);
                if (code != 250) throw new IOException($"EHLO: {text}");
                bool pipelining = o.Pipelining == "on" ||
                    (o.Pipelining == "auto" && ehloLines.Exists(l => l.Length > 4 && l[4..].StartsWith("PIPELINING", StringComparison.OrdinalIgnoreCase)));
                if (pipelining) shared.UsedPipelining = true;

                bool first = true;
                while (!ct.IsCancellationRequested && (claimed = shared.Claim()) > 0)
                {
                    Interlocked.Increment(ref shared.Sent);
                    long t0 = sw.ElapsedTicks;
                    if (o.Rset && !first)
                    {
                        await c.SendAsync(rset);
                        (code, text) = await c.ReadSmtpReplyAsync();
                        if (code != 250) throw new IOException($"RSET: {text}");
                    }
                    first = false;

                    int mailCode, rcptCode, dataCode;
                    if (pipelining)
                    {
                        await c.SendAsync(envelope);
                        (mailCode, text) = await c.ReadSmtpReplyAsync();
                        (rcptCode, var rcptText) = await c.ReadSmtpReplyAsync();
                        (dataCode, var dataText) = await c.ReadSmtpReplyAsync();
                        if (mailCode != 250) { }
                        else if (rcptCode != 250) text = rcptText;
                        else text = dataText;
                    }
                    else
                    {
                        await c.SendAsync(mail);
                        (mailCode, text) = await c.ReadSmtpReplyAsync();
                        rcptCode = dataCode = 0;
                        if (mailCode == 250)
                        {
                            await c.SendAsync(rcpt);
                            (rcptCode, text) = await c.ReadSmtpReplyAsync();
                        }
                        if (rcptCode == 250)
                        {
                            await c.SendAsync(data);
                            (dataCode, text) = await c.ReadSmtpReplyAsync();
                        }
                    }

                    if (dataCode != 354)
                    {
                        // Refused somewhere in the envelope: count it and start over cleanly.
                        Interlocked.Increment(ref shared.Rejected);
                        shared.Error($"envelope refused: {text}");
                        await c.SendAsync(rset);
                        await c.ReadSmtpReplyAsync();
                        continue;
                    }

                    int len = BuildMessage(message, body, o, id, claimed);
                    await c.SendAsync(message.AsMemory(0, len));
                    (code, text) = await c.ReadSmtpReplyAsync();
                    long t1 = sw.ElapsedTicks;
                    if (code == 250)
                    {
                        Interlocked.Increment(ref shared.Accepted);
                        shared.Record((t1 - t0) * 1000.0 / Stopwatch.Frequency, t1);
                    }
                    else
                    {
                        Interlocked.Increment(ref shared.Rejected);
                        shared.Error($"end of data refused: {text}");
                    }
                }
                claimed = -1;

                // Polite end; the result does not depend on the answer.
                try { await c.SendAsync("QUIT\r\n"); await c.ReadSmtpReplyAsync(); } catch { }
                return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or TimeoutException)
            {
                shared.Error($"session {id}: {e.GetType().Name}: {e.Message}");
                if (claimed > 0)
                {
                    // The message in flight is neither accepted nor refused; hand it back.
                    Interlocked.Decrement(ref shared.Sent);
                    shared.Unclaim();
                }
                if (ct.IsCancellationRequested) return;
                await Task.Delay(100 * (attempt + 1), CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// A body of CRLF lines of printable ASCII (never starting with '.'), sized so that
    /// headers plus body come to about <paramref name="size"/> bytes, plus the final ".".
    /// </summary>
    private static byte[] MakeBody(int size)
    {
        const int headerEstimate = 230;
        int bodyBytes = Math.Max(2, size - headerEstimate);
        var sb = new StringBuilder(bodyBytes + 8);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        int line = 0;
        while (sb.Length + 2 < bodyBytes)
        {
            int width = Math.Min(76, bodyBytes - sb.Length - 2);
            for (int k = 0; k < width; k++) sb.Append(alphabet[(line * 7 + k) % alphabet.Length]);
            if (sb[^width] == ' ') sb[^width] = 'x';
            sb.Append("\r\n");
            line++;
        }
        sb.Append(".\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>Writes headers (unique Message-ID) and the body into <paramref name="dst"/>.</summary>
    private static int BuildMessage(byte[] dst, byte[] body, Options o, int session, int n)
    {
        string headers =
            $"From: Bench <{o.From}>\r\n" +
            $"To: <{o.Rcpt}>\r\n" +
            $"Subject: bench message {n}\r\n" +
            $"Date: {DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)}\r\n" +
            $"Message-ID: <bench.{Environment.ProcessId}.{session}.{n}@{o.Helo}>\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
        int h = Encoding.ASCII.GetBytes(headers, dst);
        body.CopyTo(dst, h);
        return h + body.Length;
    }

    private static long CountMaildirNew(string maildir)
    {
        string dir = Path.Combine(maildir, "new");
        if (!Directory.Exists(dir)) return 0;
        long n = 0;
        try { foreach (var _ in Directory.EnumerateFiles(dir)) n++; }
        catch (IOException) { /* directory changing under us: next poll */ }
        return n;
    }

    private static readonly Regex SinkMesg = new(@"mesg=(\d+)", RegexOptions.RightToLeft | RegexOptions.CultureInvariant);

    /// <summary>Last "mesg=N" written by `smtp-sink -c` (it rewrites its counter line with CR).</summary>
    private static long ReadSinkCounter(string file)
    {
        try
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            long from = Math.Max(0, fs.Length - 256);
            fs.Seek(from, SeekOrigin.Begin);
            var buf = new byte[fs.Length - from];
            int n = fs.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            var m = SinkMesg.Match(Encoding.ASCII.GetString(buf, 0, n));
            return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        }
        catch (FileNotFoundException) { return 0; }
    }

    internal static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        int i = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(i, 0, sorted.Length - 1)];
    }

    internal static string F(double v) =>
        double.IsNaN(v) || double.IsInfinity(v) ? "NA" : v.ToString(v >= 100 ? "F0" : "F2", CultureInfo.InvariantCulture);
}
