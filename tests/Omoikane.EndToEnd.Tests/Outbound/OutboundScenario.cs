using System.Net;
using System.Net.Sockets;
using System.Text;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>
/// The pieces of an outbound test: a DNS server on loopback, a sending Omoikane (sender.test, local user
/// alice@sender.test) and receiving peers (remote.test, user bob@remote.test) on their own 127.x addresses.
/// </summary>
public sealed class OutboundScenario : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = new();

    public LoopbackDnsServer Dns { get; } = LoopbackDnsServer.Start();

    /// <summary>A receiving Omoikane for remote.test listening on <paramref name="address"/> (port chosen by the system unless given).</summary>
    public async Task<MailHost> StartPeerAsync(string address, string extraMainCf = "", int port = 0)
    {
        var peer = await MailHost.StartAsync($"""
            myhostname = peer.test
            mydomain = peer.test
            mydestination = remote.test
            mynetworks = 127.0.0.0/8
            dns_servers = {Dns.DnsServersValue}
            {extraMainCf}
            """, $"{address}:{(port == 0 ? 2525 : port)}", ephemeralPorts: port == 0);
        peer.Host.Users.Add("bob@remote.test", "secret-bob-1");
        _owned.Add(peer);
        return peer;
    }

    /// <summary>The Omoikane under test: short backoff times so that retries happen within the test.</summary>
    public async Task<MailHost> StartSenderAsync(string extraMainCf)
    {
        var sender = await MailHost.StartAsync($"""
            myhostname = sender.test
            mydomain = sender.test
            myorigin = sender.test
            mydestination = sender.test
            mynetworks = 127.0.0.0/8
            dns_servers = {Dns.DnsServersValue}
            minimal_backoff_time = 1s
            maximal_backoff_time = 2s
            queue_run_delay = 1s
            smtp_connect_timeout = 3s
            {extraMainCf}
            """, "127.0.0.1:2525");
        sender.Host.Users.Add("alice@sender.test", "secret-alice-1");
        _owned.Add(sender);
        return sender;
    }

    public void Own(IAsyncDisposable d) => _owned.Add(d);

    /// <summary>
    /// Submits <paramref name="message"/> (LF line endings) over a raw SMTP session from 127.0.0.1, which is
    /// in mynetworks; sends it CRLF and dot-stuffed, and checks every reply.
    /// </summary>
    public static async Task SubmitAsync(IPEndPoint server, string from, IEnumerable<string> to, string message)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Address, server.Port);
        var stream = tcp.GetStream();
        var reader = new StreamReader(stream, new UTF8Encoding(false));
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        async Task<string> Reply()
        {
            string line;
            do line = await reader.ReadLineAsync() ?? throw new IOException("connection closed");
            while (line.Length > 3 && line[3] == '-');
            return line;
        }
        async Task Expect(string command, string code)
        {
            await writer.WriteLineAsync(command);
            var r = await Reply();
            Assert.True(r.StartsWith(code, StringComparison.Ordinal), $"{command} → {r}");
        }
        Assert.StartsWith("220", await Reply());
        await Expect("EHLO client.test", "250");
        await Expect($"MAIL FROM:<{from}>", "250");
        foreach (var t in to) await Expect($"RCPT TO:<{t}>", "250");
        await Expect("DATA", "354");
        var body = new StringBuilder();
        foreach (var l in message.TrimEnd('\n').Split('\n')) body.Append(l.StartsWith('.') ? "." : "").Append(l).Append("\r\n");
        await writer.WriteAsync(body.ToString());
        await Expect(".", "250");
        await Expect("QUIT", "221");
    }

    public static string Message(string subject, string body = "Hello.\n") => $"""
        From: Alice <alice@sender.test>
        To: Bob <bob@remote.test>
        Subject: {subject}
        Date: Mon, 2 Mar 2026 10:00:00 +0000
        Message-ID: <{Guid.NewGuid():N}@sender.test>

        {body}
        """.ReplaceLineEndings("\n");

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            try { await _owned[i].DisposeAsync(); } catch (Exception) { }
        }
        await Dns.DisposeAsync();
    }
}
