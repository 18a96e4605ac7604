using System.Net;
using System.Net.Sockets;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;
using Omoikane.TestSupport.Dns;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>
/// hosts.allow / hosts.deny against real connections: each client binds its own 127.0.0.x source address
/// before connecting, so the server sees distinct client addresses.
/// </summary>
public sealed class HostsAccessEndToEndTests
{
    private const string MasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:110 inet n - n - - pop3d
        """;

    private static Task<TestServer> StartAsync(string allow, string deny, string mainCf = "")
        => TestServer.StartAsync(mainCf, MasterCf, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "hosts.allow"), allow);
            File.WriteAllText(Path.Combine(dir, "hosts.deny"), deny);
        });

    /// <summary>Connects from source and returns the first line the server sends, or null if it closed without one.</summary>
    internal static async Task<(string? Line, bool ClosedAfter)> GreetingAsync(IPEndPoint server, string source)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await socket.ConnectAsync(server, cts.Token);
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var line = await reader.ReadLineAsync(cts.Token);
        if (line is null) return (null, true);
        // A refused client is closed right after the refusal; a greeted one is left waiting for a command.
        var closed = await ClosedWithinAsync(reader, TimeSpan.FromSeconds(line.StartsWith("421") || line.StartsWith("-ERR") ? 10 : 1));
        return (line, closed);
    }

    private static async Task<bool> ClosedWithinAsync(StreamReader reader, TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try { return await reader.ReadLineAsync(cts.Token) is null; }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    [Fact]
    public async Task SmtpClientsAreAllowedOrRefusedByTheirAddress()
    {
        await using var server = await StartAsync(
            allow: "smtpd: 127.0.0.2\n",
            deny: "smtpd: 127.0.0.0/255.0.0.0 EXCEPT 127.0.0.4\n");
        var smtp = server.EndPoint("127.0.0.1:25");

        var allowed = await GreetingAsync(smtp, "127.0.0.2");
        Assert.StartsWith("220 ", allowed.Line);
        Assert.False(allowed.ClosedAfter);

        var refused = await GreetingAsync(smtp, "127.0.0.3");
        Assert.Equal("421 4.7.0 mail.example.test Service unavailable - try again later", refused.Line);
        Assert.True(refused.ClosedAfter);
        var log = await server.WaitForLogAsync("smtpd[", "warning: hosts_access: refused connect from unknown[127.0.0.3] to service smtpd");
        Assert.Contains("hosts.deny:1", log);

        var excepted = await GreetingAsync(smtp, "127.0.0.4");
        Assert.StartsWith("220 ", excepted.Line);
    }

    [Fact]
    public async Task Pop3ClientsAreRefusedWithAnErrBeforeTheGreeting()
    {
        await using var server = await StartAsync(allow: "", deny: "pop3d: 127.0.0.5, 127.0.0.6\n");
        var pop3 = server.EndPoint("127.0.0.1:110");
        var refused = await GreetingAsync(pop3, "127.0.0.5");
        Assert.Equal("-ERR [SYS/PERM] Access denied", refused.Line);
        Assert.True(refused.ClosedAfter);
        Assert.StartsWith("+OK ", (await GreetingAsync(pop3, "127.0.0.7")).Line);
        // The rule names pop3d only: the same client may still use SMTP.
        Assert.StartsWith("220 ", (await GreetingAsync(server.EndPoint("127.0.0.1:25"), "127.0.0.5")).Line);
        await server.WaitForLogAsync("pop3d[", "refused connect from unknown[127.0.0.5] to service pop3d");
    }

    [Fact]
    public async Task OptionFormInHostsAllowAlone()
    {
        await using var server = await StartAsync(
            allow: "ALL: 127.0.0.8 : deny\nALL: 127.0.0.0/8 : allow\nALL: ALL : deny\n", deny: "");
        Assert.StartsWith("421 ", (await GreetingAsync(server.EndPoint("127.0.0.1:25"), "127.0.0.8")).Line);
        Assert.StartsWith("-ERR ", (await GreetingAsync(server.EndPoint("127.0.0.1:110"), "127.0.0.8")).Line);
        Assert.StartsWith("220 ", (await GreetingAsync(server.EndPoint("127.0.0.1:25"), "127.0.0.9")).Line);
    }

    [Fact]
    public async Task EditedFilesApplyToTheNextConnectionWithoutARestart()
    {
        await using var server = await StartAsync(allow: "", deny: "smtpd: 127.0.0.10\n");
        var smtp = server.EndPoint("127.0.0.1:25");
        Assert.StartsWith("421 ", (await GreetingAsync(smtp, "127.0.0.10")).Line);
        Assert.StartsWith("220 ", (await GreetingAsync(smtp, "127.0.0.11")).Line);

        var deny = Path.Combine(server.Directory, "hosts.deny");
        File.WriteAllText(deny, "smtpd: 127.0.0.11\n");
        File.SetLastWriteTimeUtc(deny, DateTime.UtcNow.AddSeconds(5));
        // The files are checked at most once a second: poll, bounded.
        var deadline = Environment.TickCount64 + 10000;
        string? line;
        do
        {
            await Task.Delay(200);
            line = (await GreetingAsync(smtp, "127.0.0.11")).Line;
        } while (line!.StartsWith("220 ") && Environment.TickCount64 < deadline);
        Assert.StartsWith("421 ", line);
        Assert.StartsWith("220 ", (await GreetingAsync(smtp, "127.0.0.10")).Line);
    }

    [Fact]
    public async Task DomainPatternsUseTheForwardConfirmedName()
    {
        await using var dns = LoopbackDnsServer.Start();
        dns.AddPtr("127.0.0.12", "good.trusted.example").AddA("good.trusted.example", "127.0.0.12");
        // A PTR claiming the trusted domain without the A record to back it is not believed.
        dns.AddPtr("127.0.0.13", "liar.trusted.example").AddA("liar.trusted.example", "192.0.2.99");
        await using var server = await StartAsync(
            allow: "smtpd: .trusted.example\n", deny: "smtpd: ALL\n", mainCf: $"dns_servers = {dns.DnsServersValue}");
        var smtp = server.EndPoint("127.0.0.1:25");
        Assert.StartsWith("220 ", (await GreetingAsync(smtp, "127.0.0.12")).Line);
        Assert.StartsWith("421 ", (await GreetingAsync(smtp, "127.0.0.13")).Line);
        await server.WaitForLogAsync("refused connect from unknown[127.0.0.13]");
    }

    [Fact]
    public async Task ABrokenLineIsLoggedWithItsFileAndLine()
    {
        await using var server = await StartAsync(allow: "", deny: "# deny these\nsmtpd 127.0.0.14\nsmtpd: 127.0.0.15\n");
        await server.WaitForLogAsync("warning: ", "hosts.deny:2: warning: missing \":\" separator");
        Assert.StartsWith("220 ", (await GreetingAsync(server.EndPoint("127.0.0.1:25"), "127.0.0.14")).Line);
        Assert.StartsWith("421 ", (await GreetingAsync(server.EndPoint("127.0.0.1:25"), "127.0.0.15")).Line);
    }
}
