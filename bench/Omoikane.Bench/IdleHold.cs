using System.Diagnostics;

namespace Omoikane.Bench;

/// <summary>
/// Opens N connections, reads each banner, then holds them all open without sending a
/// byte, so the server's per-connection memory can be measured from outside. Writes the
/// result line (and touches --ready-file) once all are open, then holds for --hold seconds
/// or until the process is stopped.
/// </summary>
public static class IdleHold
{
    private const int MaxAttemptsPerConnection = 5;

    public static async Task<int> RunAsync(Options o)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(o.DeadlineSeconds));
        var open = new LineConnection?[o.Idle];
        int failures = 0;
        string? firstError = null;
        var sw = Stopwatch.StartNew();

        // A bounded number of connects in flight, so neither side's listen backlog overflows.
        using var gate = new SemaphoreSlim(o.ConnectParallel);
        var tasks = Enumerable.Range(0, o.Idle).Select(async i =>
        {
            await gate.WaitAsync(deadline.Token);
            try
            {
                for (int attempt = 1; attempt <= MaxAttemptsPerConnection; attempt++)
                {
                    LineConnection? c = null;
                    try
                    {
                        c = await LineConnection.ConnectAsync(o.Host, o.Port, o.ReplyTimeout, deadline.Token);
                        var (code, text) = await c.ReadSmtpOrPop3GreetingAsync();
                        if (code != 220 && code != 1) throw new IOException($"greeting: {text}");
                        open[i] = c;
                        return;
                    }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or TimeoutException)
                    {
                        if (c != null) await c.DisposeAsync();
                        Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}", null);
                        if (deadline.IsCancellationRequested || attempt == MaxAttemptsPerConnection)
                        {
                            Interlocked.Increment(ref failures);
                            return;
                        }
                        await Task.Delay(200 * attempt);
                    }
                }
            }
            finally { gate.Release(); }
        }).ToArray();
        try { await Task.WhenAll(tasks); } catch (OperationCanceledException) { }

        int count = open.Count(c => c != null);
        Console.WriteLine($"idle target={o.Target} requested={o.Idle} open={count} failed={failures} " +
                          $"open_s={SmtpLoad.F(sw.Elapsed.TotalSeconds)}");
        if (firstError != null) Console.Error.WriteLine($"first error: {firstError}");
        if (o.ReadyFile != null) await File.WriteAllTextAsync(o.ReadyFile, $"{count}\n");

        // Hold. Idle means idle: nothing is sent until the end.
        try { await Task.Delay(TimeSpan.FromSeconds(o.HoldSeconds), deadline.Token); } catch (OperationCanceledException) { }
        foreach (var c in open) if (c != null) await c.DisposeAsync();
        return count == o.Idle ? 0 : 1;
    }
}
