using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;
using Omoikane.Server.Sasl;

namespace Omoikane.EndToEnd.Tests.Auth;

/// <summary>
/// The failed-login throttle over real sessions: guesses at one account, interleaved with good logins to
/// another account from the same address, still add up until the address is blocked (a success forgives
/// only the failures made against its own account). SMTP AUTH and POP3 share the throttle.
/// </summary>
public sealed class AuthThrottleEndToEndTests
{
    private const string MasterCf = TestServer.DefaultMasterCf + "\n127.0.0.1:110 inet n - n - - pop3d\n";
    private static readonly AuthThrottleOptions Fast = new() { BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) };

    private static Task<TestServer> StartAsync() => TestServer.StartAsync("", MasterCf, hostOptions: o => o with { AuthThrottle = Fast });

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    [Fact]
    public async Task SmtpGuessesAtBobAreNotForgivenByAlicesLogins()
    {
        await using var server = await StartAsync();
        server.AddUser("alice@example.test", "alice-pw");
        server.AddUser("bob@example.test", "bob-pw");
        var watch = Stopwatch.StartNew();

        await using var attacker = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:587"));
        await attacker.ReplyAsync();
        await attacker.CommandAsync("EHLO attacker.example");
        int failures = 0;
        string? dropped = null;
        for (int i = 0; i < 30 && dropped is null; i++)
        {
            await using (var good = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:587")))
            {
                await good.ReplyAsync();
                await good.CommandAsync("EHLO alice.example");
                Assert.StartsWith("235 ", await good.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice-pw")));
            }
            await attacker.SendAsync("AUTH PLAIN " + Plain("bob@example.test", $"guess{i}") + "\r\n");
            Assert.StartsWith("535 5.7.8", await attacker.ReplyAsync());
            failures++;
            if (failures == Fast.MaxFailures) dropped = await attacker.ReplyAsync();
        }
        Assert.Equal($"421 4.7.0 mail.example.test Error: too many errors", dropped);
        Assert.Equal(Fast.MaxFailures, failures);   // ten guesses, not thirty, whatever alice did meanwhile
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");

        // Blocked: a new session's AUTH is refused without trying, whatever the account.
        await using var again = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:587"));
        await again.ReplyAsync();
        await again.CommandAsync("EHLO attacker.example");
        Assert.Equal("421 4.7.0 mail.example.test Error: too many failed authentication attempts",
            await again.CommandAsync("AUTH PLAIN " + Plain("bob@example.test", "bob-pw")));
    }

    /// <summary>One POP3 login on a new connection; returns the answer to PASS.</summary>
    private static async Task<string> Pop3LoginAsync(IPEndPoint server, string user, string password)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server).WaitAsync(TimeSpan.FromSeconds(10));
        var stream = tcp.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        async Task<string> Line() => await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? "(closed)";
        Assert.StartsWith("+OK", await Line());
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"USER {user}\r\n"));
        Assert.StartsWith("+OK", await Line());
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"PASS {password}\r\n"));
        var answer = await Line();
        await stream.WriteAsync("QUIT\r\n"u8.ToArray());
        return answer;
    }

    [Fact]
    public async Task Pop3GuessesAtBobAreNotForgivenByAlicesLogins()
    {
        await using var server = await StartAsync();
        server.AddUser("alice@example.test", "alice-pw");
        server.AddUser("bob@example.test", "bob-pw");
        var pop3 = server.EndPoint("127.0.0.1:110");
        int failures = 0;
        string answer = "";
        for (int i = 0; i < 30; i++)
        {
            answer = await Pop3LoginAsync(pop3, "alice@example.test", "alice-pw");
            if (!answer.StartsWith("+OK", StringComparison.Ordinal)) break;
            answer = await Pop3LoginAsync(pop3, "bob@example.test", $"guess{i}");
            Assert.Equal("-ERR [AUTH] Authentication failed.", answer);
            failures++;
        }
        // After ten guesses the address is refused, good password or not.
        Assert.Equal(Fast.MaxFailures, failures);
        Assert.Equal("-ERR [AUTH] Too many authentication failures; try again later.", answer);
        Assert.Equal("-ERR [AUTH] Too many authentication failures; try again later.", await Pop3LoginAsync(pop3, "bob@example.test", "bob-pw"));
    }
}
