using Omoikane.EndToEnd.Tests.Support;
using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Server.Hosting;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>
/// One Omoikane server for a test: its own temporary directory with main.cf and master.cf written by the
/// test, started on loopback. Restartable (same directory, same queue) to test resuming.
/// </summary>
public sealed class MailHost : IAsyncDisposable
{
    private readonly bool _ephemeral;

    public string Directory { get; }
    public ServerHost Host { get; private set; } = null!;

    private MailHost(string dir, bool ephemeral) { Directory = dir; _ephemeral = ephemeral; }

    /// <summary>
    /// Starts a server whose main.cf is <paramref name="mainCf"/> (data_directory is added) and whose only
    /// service is smtpd on <paramref name="listen"/> ("127.0.1.5:0" picks a port unless a port is given).
    /// </summary>
    public static async Task<MailHost> StartAsync(string mainCf, string listen, bool ephemeralPorts = true)
    {
        var dir = Path.Combine(Path.GetTempPath(), "omoikane-outbound-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "main.cf"), $"data_directory = {dir}/data\n{TestDns.MainCfLine}\n{mainCf}\n");
        File.WriteAllText(Path.Combine(dir, "master.cf"), $"{listen} inet n - n - - smtpd\n");
        var host = new MailHost(dir, ephemeralPorts);
        await host.StartAgainAsync();
        return host;
    }

    /// <summary>Starts the server (again) from its directory.</summary>
    public async Task StartAgainAsync()
    {
        var config = ConfigLoader.Load(Directory);
        Host = await ServerHost.StartAsync(config, new ServerHostOptions { LogToStderr = false, EphemeralPorts = _ephemeral });
    }

    public async Task StopAsync() => await Host.StopAsync(TimeSpan.FromSeconds(2));

    public IPEndPoint SmtpEndPoint => Host.Endpoints.First().EndPoint;

    public string MaillogPath => Path.Combine(Directory, "data", "log", "maillog");

    public string Maillog => File.Exists(MaillogPath)
        ? new StreamReader(new FileStream(MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)).ReadToEnd()
        : "";

    /// <summary>Messages in the Maildir of user@domain (new/), oldest first.</summary>
    public IReadOnlyList<string> Mailbox(string domain, string user)
    {
        var dir = Path.Combine(Directory, "data", "mail", domain, user, "new");
        if (!System.IO.Directory.Exists(dir)) return [];
        return System.IO.Directory.GetFiles(dir).OrderBy(File.GetLastWriteTimeUtc).Select(File.ReadAllText).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        try { await Host.DisposeAsync(); } catch (ObjectDisposedException) { }
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
