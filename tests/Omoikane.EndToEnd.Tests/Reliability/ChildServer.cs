using System.Diagnostics;
using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// The real program as a child process, in a fresh temporary directory with its own main.cf and
/// master.cf (SMTP and POP3 on free loopback ports), that a test can kill -9 and start again.
/// </summary>
public sealed class ChildServer : IAsyncDisposable
{
    public string Directory { get; }
    public int SmtpPort { get; }
    public int Pop3Port { get; }
    public Process? Process { get; private set; }

    private ChildServer(string dir, int smtp, int pop3) { Directory = dir; SmtpPort = smtp; Pop3Port = pop3; }

    public IPEndPoint Smtp => new(IPAddress.Loopback, SmtpPort);
    public IPEndPoint Pop3 => new(IPAddress.Loopback, Pop3Port);
    public string DataDirectory => Path.Combine(Directory, "data");
    public string MaildirNew(string domain, string local) => Path.Combine(DataDirectory, "mail", domain, local, "new");
    public string MaildirCur(string domain, string local) => Path.Combine(DataDirectory, "mail", domain, local, "cur");

    public static async Task<ChildServer> CreateAsync(string mainCf = "", params string[] users)
    {
        var dir = Path.Combine(Path.GetTempPath(), "omoikane-rel-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(dir);
        var smtp = OmoikaneProcess.FreePort();
        var pop3 = OmoikaneProcess.FreePort();
        File.WriteAllText(Path.Combine(dir, "main.cf"),
            $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = {dir}/data\nsmtpd_error_sleep_time = 0\n{TestDns.MainCfLine}\n{mainCf}\n");
        File.WriteAllText(Path.Combine(dir, "master.cf"),
            $"127.0.0.1:{smtp} inet n - n - - smtpd\n127.0.0.1:{pop3} inet n - n - - pop3d\n");
        foreach (var u in users)
        {
            var add = await OmoikaneProcess.RunAsync(dir, "pw\n", "user", "add", u, "--password-stdin", "--config", dir);
            if (add.Code != 0) throw new InvalidOperationException("user add failed: " + add.Err);
        }
        return new ChildServer(dir, smtp, pop3);
    }

    public async Task StartAsync() => Process = await OmoikaneProcess.StartServerAsync(Directory, Directory, SmtpPort);

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (Process is null) return;
        try { Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Process.Dispose();
        Process = null;
    }

    /// <summary>The resident set size of the server process in KiB (VmRSS in /proc/PID/status).</summary>
    public long RssKib()
    {
        foreach (var line in File.ReadLines($"/proc/{Process!.Id}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        throw new InvalidOperationException("no VmRSS");
    }

    public string[] Delivered(string domain, string local)
    {
        var files = new List<string>();
        foreach (var d in new[] { MaildirNew(domain, local), MaildirCur(domain, local) })
            if (System.IO.Directory.Exists(d)) files.AddRange(System.IO.Directory.GetFiles(d));
        return files.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
