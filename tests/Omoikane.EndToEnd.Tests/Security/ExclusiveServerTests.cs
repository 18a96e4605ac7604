using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Omoikane.EndToEnd.Tests.Reliability;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Security;

/// <summary>
/// One server per port and per data directory, with two real processes: a second serve on a port in use
/// fails with one line and a non-zero exit (no SO_REUSEPORT sharing of the port), a second serve on the same
/// data directory refuses to start, and a kill -9 leaves nothing that blocks the next start.
/// </summary>
public sealed class ExclusiveServerTests
{
    private static async Task<(int Code, string Err)> RunSecondServeAsync(string dir, string configDir)
    {
        using var p = Process.Start(OmoikaneProcess.StartInfo(dir, "serve", "--config", configDir))!;
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            Assert.Fail("the second serve kept running instead of refusing to start");
        }
        return (p.ExitCode, await err);
    }

    [Fact]
    public async Task ASecondServerOnAPortInUseFailsWithOneLine()
    {
        await using var first = await ChildServer.CreateAsync();
        await first.StartAsync();
        // Same master.cf (same ports), its own data directory: only the port is shared.
        var other = Path.Combine(first.Directory, "other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "main.cf"),
            File.ReadAllText(Path.Combine(first.Directory, "main.cf")).Replace($"data_directory = {first.Directory}/data", $"data_directory = {other}/data"));
        File.Copy(Path.Combine(first.Directory, "master.cf"), Path.Combine(other, "master.cf"));

        var (code, err) = await RunSecondServeAsync(first.Directory, other);

        Assert.NotEqual(0, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("cannot listen"));
        Assert.Contains($"127.0.0.1:{first.SmtpPort}", line);
        Assert.Contains("address already in use", line);
        // The first server still answers every connection.
        for (int i = 0; i < 5; i++)
        {
            await using var c = await RawSmtpClient.ConnectAsync(first.Smtp);
            Assert.StartsWith("220 ", await c.ReplyAsync());
        }
    }

    [Fact]
    public async Task ASecondServerOnTheSameDataDirectoryRefusesToStart()
    {
        await using var first = await ChildServer.CreateAsync();
        await first.StartAsync();
        // Other ports, same data directory.
        var other = Path.Combine(first.Directory, "other");
        Directory.CreateDirectory(other);
        File.Copy(Path.Combine(first.Directory, "main.cf"), Path.Combine(other, "main.cf"));
        File.WriteAllText(Path.Combine(other, "master.cf"),
            $"127.0.0.1:{OmoikaneProcess.FreePort()} inet n - n - - smtpd\n");

        var (code, err) = await RunSecondServeAsync(first.Directory, other);

        Assert.NotEqual(0, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("omoikane: data_directory"));
        Assert.Contains("is in use by another running server", line);
        Assert.Contains($"process {first.Process!.Id}", line);
        // The first server's pid file is untouched.
        Assert.Equal(first.Process.Id.ToString(), File.ReadAllText(Path.Combine(first.DataDirectory, "omoikane.pid")).Trim());
    }

    [Fact]
    public async Task AKilledServerLeavesNothingThatBlocksTheNextStart()
    {
        await using var server = await ChildServer.CreateAsync();
        await server.StartAsync();
        var killed = server.Process!.Id;
        await server.KillAsync();
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "omoikane.pid")));
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "omoikane.lock")));

        await server.StartAsync();

        Assert.NotEqual(killed, server.Process!.Id);
        await using var c = await RawSmtpClient.ConnectAsync(server.Smtp);
        Assert.StartsWith("220 ", await c.ReplyAsync());
    }
}
