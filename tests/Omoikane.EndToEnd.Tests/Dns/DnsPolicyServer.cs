using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Server.Hosting;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Dns;

/// <summary>
/// A running server whose every DNS lookup goes to a <see cref="LoopbackDnsServer"/>: a configuration
/// directory in a temporary folder (main.cf with dns_servers pointing at the loopback server,
/// mynetworks = 127.0.0.1/32 so that other 127.x.y.z clients are outside, mydestination = example.test),
/// a master.cf with one smtpd service on 127.0.0.1 (port chosen by the system) and the user
/// user@example.test. Clients connect from their own 127.x.y.z address to get their own client IP.
/// </summary>
public sealed class DnsPolicyServer : IAsyncDisposable
{
    public const string User = "user@example.test";
    public const string Helo = "client.example.org";
    public const string Sender = "sender@example.org";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private DnsPolicyServer(string directory, LoopbackDnsServer dns, ServerHost host)
    {
        Directory = directory;
        Dns = dns;
        Host = host;
    }

    public string Directory { get; }
    public LoopbackDnsServer Dns { get; }
    public ServerHost Host { get; }
    public IPEndPoint Smtp => Host.Endpoints.Single(e => e.Service.Command == "smtpd").EndPoint;
    public string MaillogPath => Path.Combine(Host.Config.DataDirectory, "log", "maillog");

    /// <summary>Main.cf's lines after the common ones; "DIR" in them stands for the configuration directory.</summary>
    public static async Task<DnsPolicyServer> StartAsync(Action<LoopbackDnsServer> zone, string mainCf, IReadOnlyDictionary<string, string>? files = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("omoikane-dns-").FullName;
        var dns = LoopbackDnsServer.Start();
        try
        {
            zone(dns);
            foreach (var (name, text) in files ?? new Dictionary<string, string>())
                await File.WriteAllTextAsync(Path.Combine(dir, name), text);
            await File.WriteAllTextAsync(Path.Combine(dir, "main.cf"), $"""
                myhostname = mx.example.test
                mydomain = example.test
                mydestination = example.test
                mynetworks = 127.0.0.1/32
                data_directory = {Path.Combine(dir, "data")}
                dns_servers = {dns.DnsServersValue}
                smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
                {mainCf.Replace("DIR", dir)}
                """);
            await File.WriteAllTextAsync(Path.Combine(dir, "master.cf"), "127.0.0.1:25 inet n - n - - smtpd\n");
            var config = ConfigLoader.Load(dir);
            var host = await ServerHost.StartAsync(config, new ServerHostOptions { EphemeralPorts = true, LogToStderr = false });
            host.Users.Add(User, "correct horse battery staple");
            return new DnsPolicyServer(dir, dns, host);
        }
        catch
        {
            await dns.DisposeAsync();
            System.IO.Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Connects from <paramref name="source"/> (a 127.x.y.z address) and says EHLO.</summary>
    public async Task<SourceBoundSmtpClient> ConnectAsync(string source, string helo = Helo)
    {
        var (client, greeting) = await SourceBoundSmtpClient.ConnectAsync(IPAddress.Parse(source), Smtp, Timeout);
        Assert.StartsWith("220 ", greeting);
        var ehlo = await client.CommandAsync($"EHLO {helo}");
        Assert.StartsWith("250 ", ehlo);
        return client;
    }

    /// <summary>EHLO, MAIL FROM and RCPT TO from <paramref name="source"/>; returns the RCPT reply.</summary>
    public async Task<string> RcptReplyAsync(string source, string sender = Sender, string helo = Helo, string recipient = User)
    {
        await using var client = await ConnectAsync(source, helo);
        var mail = await client.CommandAsync($"MAIL FROM:<{sender}>");
        Assert.StartsWith("250 ", mail);
        return await client.CommandAsync($"RCPT TO:<{recipient}>");
    }

    /// <summary>The first maillog line containing <paramref name="text"/>, waiting for the asynchronous log writer.</summary>
    public async Task<string> WaitForLogLineAsync(string text)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (File.Exists(MaillogPath))
            {
                string[] lines;
                using (var stream = new FileStream(MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                using (var reader = new StreamReader(stream))
                    lines = (await reader.ReadToEndAsync()).Split('\n');
                var line = lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                if (line is not null) return line;
            }
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"no maillog line contains \"{text}\" after {Timeout.TotalSeconds} s; maillog:\n{(File.Exists(MaillogPath) ? File.ReadAllText(MaillogPath) : "(none)")}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Dns.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
