using System.Net.Sockets;
using System.Text;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// SCRAM-SHA-256 must not tell which users exist: an unknown user's salt and iteration count look like
/// a real user's and, like a real user's, stay the same when the server restarts.
/// </summary>
public sealed class ScramEnumerationTests
{
    /// <summary>The server-first message ("r=...,s=SALT,i=N") POP3 AUTH SCRAM-SHA-256 answers for a user.</summary>
    private static async Task<(string Salt, string Iterations)> ServerFirstAsync(ChildServer server, string user)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Pop3).WaitAsync(TimeSpan.FromSeconds(10));
        using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
        var writer = tcp.GetStream();
        async Task<string> Line() => await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? throw new IOException("closed");
        Assert.StartsWith("+OK", await Line());
        var clientFirst = Convert.ToBase64String(Encoding.UTF8.GetBytes($"n,,n={user},r=fyko+d2lbbFgONRv9qkxdawL"));
        await writer.WriteAsync(Encoding.ASCII.GetBytes($"AUTH SCRAM-SHA-256 {clientFirst}\r\n"));
        var challenge = await Line();
        Assert.StartsWith("+ ", challenge);
        var fields = Encoding.UTF8.GetString(Convert.FromBase64String(challenge[2..])).Split(',')
            .ToDictionary(f => f[..1], f => f[2..]);
        await writer.WriteAsync("*\r\n"u8.ToArray());
        return (fields["s"], fields["i"]);
    }

    [Fact]
    public async Task UnknownUserSaltSurvivesARestartLikeARealOne()
    {
        await using var server = await ChildServer.CreateAsync("", "alice@example.test");
        await server.StartAsync();
        var alice = await ServerFirstAsync(server, "alice@example.test");
        var ghost = await ServerFirstAsync(server, "ghost@example.test");
        var ghostAgain = await ServerFirstAsync(server, "GHOST@example.test");
        var other = await ServerFirstAsync(server, "nobody@example.test");

        await server.KillAsync();
        await server.StartAsync();
        var aliceAfter = await ServerFirstAsync(server, "alice@example.test");
        var ghostAfter = await ServerFirstAsync(server, "ghost@example.test");

        Assert.Equal(alice, aliceAfter);
        Assert.Equal(ghost, ghostAfter);                 // the restart does not tell ghost from alice
        Assert.Equal(ghost, ghostAgain);                 // one address, one salt, whatever its case
        Assert.NotEqual(ghost.Salt, other.Salt);         // each unknown user has a salt of its own
        Assert.Equal(Convert.FromBase64String(alice.Salt).Length, Convert.FromBase64String(ghost.Salt).Length);
        Assert.Equal(alice.Iterations, ghost.Iterations);

        var key = Path.Combine(server.DataDirectory, Omoikane.Server.Sasl.ScramFakeSalt.FileName);
        Assert.Equal(32, new FileInfo(key).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
    }
}
