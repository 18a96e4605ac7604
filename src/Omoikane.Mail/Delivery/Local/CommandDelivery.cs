using System.Diagnostics;
using System.Text;

namespace Omoikane.Mail.Delivery.Local;

/// <summary>
/// Delivery to an alias "|command" as local(8) does it: /bin/sh -c command, run as the server's own user
/// in "/", with a clean environment (HOME, LOGNAME, USER, SHELL, PATH, TZ, and Postfix's SENDER,
/// RECIPIENT, ORIGINAL_RECIPIENT, LOCAL, DOMAIN, EXTENSION, CLIENT_ADDRESS, CLIENT_HOSTNAME,
/// CLIENT_PROTOCOL, SASL_METHOD, SASL_USERNAME); the message on standard input (<see cref="LocalCopy"/>).
/// Exit 0 is delivered; the sysexits(3) codes map as Postfix's sys_exits table (75 EX_TEMPFAIL and
/// 71 EX_OSERR are retried, the others bounce with their status code); any other status bounces as
/// "Command died with status N"; a signal is retried; after command_time_limit the command and its
/// children are killed and the message bounces. The command's output (first 1 KB) is quoted in the text.
/// </summary>
public static class CommandDelivery
{
    private const int OutputLimit = 1024;

    private static readonly Dictionary<int, (string Dsn, string Text)> SysExits = new()
    {
        [64] = ("5.3.0", "command line usage error"), [65] = ("5.6.0", "data format error"),
        [66] = ("5.3.0", "cannot open input"), [67] = ("5.1.1", "user unknown"),
        [68] = ("5.1.2", "host name unknown"), [69] = ("5.3.0", "service unavailable"),
        [70] = ("5.3.0", "internal software error"), [71] = ("4.3.0", "system resource problem"),
        [72] = ("5.3.0", "critical OS file missing"), [73] = ("5.2.0", "can't create user output file"),
        [74] = ("5.3.0", "input/output error"), [75] = ("4.3.0", "temporary failure"),
        [76] = ("5.5.0", "remote error in protocol"), [77] = ("5.7.0", "permission denied"),
        [78] = ("5.3.5", "local configuration error"),
    };

    public static async Task<LocalResult> RunAsync(string command, byte[] input, IReadOnlyDictionary<string, string> environment,
        TimeSpan timeLimit, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false, WorkingDirectory = "/",
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.Environment.Clear();
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var process = new Process { StartInfo = psi };
        try { process.Start(); }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return LocalResult.Defer("4.3.0", $"cannot run command \"{command}\": {ex.Message}");
        }
        var output = new StringBuilder();
        var stdout = CollectAsync(process.StandardOutput, output);
        var stderr = CollectAsync(process.StandardError, output);
        var feed = FeedAsync(process, input);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeLimit);
        bool timedOut = false;
        try { await process.WaitForExitAsync(limit.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            timedOut = !ct.IsCancellationRequested;
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        await Task.WhenAll(stdout, stderr, feed).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        string said;
        lock (output) said = Printable(output.ToString());
        var tail = said.Length > 0 ? $". Command output: {said}" : "";
        if (timedOut) return LocalResult.Bounce("5.3.0", $"Command time limit exceeded: \"{command}\"{tail}");
        var status = process.ExitCode;
        if (status == 0) return LocalResult.Sent($"delivered to command: {command}");
        if (status > 128 && status < 128 + 65) return LocalResult.Defer("4.3.0", $"Command died with signal {status - 128}: \"{command}\"{tail}");
        if (SysExits.TryGetValue(status, out var e))
            return e.Dsn[0] == '4' ? LocalResult.Defer(e.Dsn, e.Text + tail) : LocalResult.Bounce(e.Dsn, e.Text + tail);
        return LocalResult.Bounce("5.3.0", $"Command died with status {status}: \"{command}\"{tail}");
    }

    // A command that does not read its input is not an error (Postfix ignores EPIPE).
    private static async Task FeedAsync(Process process, byte[] input)
    {
        try
        {
            await process.StandardInput.BaseStream.WriteAsync(input).ConfigureAwait(false);
            await process.StandardInput.BaseStream.FlushAsync().ConfigureAwait(false);
        }
        catch (IOException) { }
        finally { try { process.StandardInput.Close(); } catch (IOException) { } }
    }

    private static async Task CollectAsync(StreamReader reader, StringBuilder into)
    {
        var buf = new char[1024];
        int n;
        while ((n = await reader.ReadAsync(buf).ConfigureAwait(false)) > 0)
            lock (into) if (into.Length < OutputLimit) into.Append(buf, 0, Math.Min(n, OutputLimit - into.Length));
    }

    /// <summary>One line of printable text: line breaks become spaces, other controls '?'.</summary>
    private static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s.Trim()) sb.Append(c is '\n' or '\r' or '\t' ? ' ' : char.IsControl(c) ? '?' : c);
        return sb.ToString();
    }
}
