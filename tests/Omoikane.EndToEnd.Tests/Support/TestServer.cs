using System.Net;
using System.Net.Sockets;
using Omoikane.Mail.Config;
using Omoikane.Server.Hosting;

namespace Omoikane.EndToEnd.Tests.Support;

/// <summary>
/// A real server in this process, on 127.0.0.1 with ports chosen by the system, configured by a main.cf
/// and master.cf written into a fresh temporary directory.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public string Directory { get; }
    public ServerHost Host { get; }

    private TestServer(string dir, ServerHost host) { Directory = dir; Host = host; }

    public const string DefaultMasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:587 inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submission
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_tls_security_level=may
        127.0.0.1:465 inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submissions
          -o smtpd_tls_wrappermode=yes
          -o smtpd_sasl_auth_enable=yes
        """;

    /// <summary>Starts a server; mainCf lines are appended to a base that puts all state in the temp directory.</summary>
    public static async Task<TestServer> StartAsync(string mainCf = "", string? masterCf = null, Action<string>? prepare = null,
        Func<ServerHostOptions, ServerHostOptions>? hostOptions = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "omoikane-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "main.cf"), $"""
            myhostname = mail.example.test
            mydestination = example.test, localhost
            data_directory = {dir}/data
            smtpd_error_sleep_time = 0
            {TestDns.MainCfLine}
            {mainCf}
            """);
        File.WriteAllText(Path.Combine(dir, "master.cf"), masterCf ?? DefaultMasterCf);
        prepare?.Invoke(dir);
        var config = ConfigLoader.Load(dir);
        var options = new ServerHostOptions { EphemeralPorts = true, LogToStderr = false };
        var host = await ServerHost.StartAsync(config, hostOptions?.Invoke(options) ?? options);
        return new TestServer(dir, host);
    }

    /// <summary>The endpoint of the n-th listener of the service named in master.cf (e.g. "127.0.0.1:587").</summary>
    public IPEndPoint EndPoint(string service = "127.0.0.1:25")
        => Host.Endpoints.First(e => e.Service.Service == service).EndPoint;

    public int Port(string service = "127.0.0.1:25") => EndPoint(service).Port;

    public void AddUser(string address, string password) => Host.Users.Add(address, password);

    public string MaildirNew(string domain, string local) => Path.Combine(Host.Config.MailboxBase, domain, local, "new");

    public string MaillogPath => Host.Config.Main.Get("maillog_file");

    /// <summary>Waits (bounded) until the mailbox holds at least count messages; returns their paths sorted by name.</summary>
    public async Task<string[]> WaitForMailAsync(string domain, string local, int count = 1, int timeoutMs = 15000)
    {
        var dir = MaildirNew(domain, local);
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (System.IO.Directory.Exists(dir))
            {
                var files = System.IO.Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal).ToArray();
                if (files.Length >= count) return files;
            }
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException($"expected {count} message(s) in {dir}");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits (bounded) until a maillog line contains all the given fragments; returns it.</summary>
    public async Task<string> WaitForLogAsync(params string[] fragments)
    {
        var deadline = Environment.TickCount64 + 10000;
        while (true)
        {
            if (File.Exists(MaillogPath))
            {
                using var fs = new FileStream(MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(fs);
                string? line;
                while ((line = await reader.ReadLineAsync()) is not null)
                    if (fragments.All(f => line.Contains(f, StringComparison.Ordinal))) return line;
            }
            if (Environment.TickCount64 > deadline)
                throw new TimeoutException($"no maillog line with: {string.Join(" | ", fragments)}");
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
