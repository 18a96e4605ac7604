using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Omoikane.EndToEnd.Tests.Support;

/// <summary>Runs the real omoikane program (the built omoikane.dll) as a child process.</summary>
public static class OmoikaneProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "omoikane.dll");

    public static ProcessStartInfo StartInfo(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs a command to completion (bounded); returns exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string workingDirectory, string? stdin, params string[] args)
    {
        using var p = Process.Start(StartInfo(workingDirectory, args))!;
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); throw new TimeoutException("omoikane " + string.Join(' ', args)); }
        return (p.ExitCode, await so, await se);
    }

    /// <summary>Starts "omoikane serve" and waits (bounded) until the port accepts connections.</summary>
    public static async Task<Process> StartServerAsync(string workingDirectory, string configDir, int port, IDictionary<string, string>? env = null)
    {
        var psi = StartInfo(workingDirectory, "serve", "--config", configDir);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        var deadline = Environment.TickCount64 + 30000;
        while (Environment.TickCount64 < deadline)
        {
            if (p.HasExited) throw new InvalidOperationException($"omoikane serve exited with {p.ExitCode}");
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return p;
            }
            catch (SocketException) { await Task.Delay(100); }
        }
        p.Kill(true);
        throw new TimeoutException("omoikane serve did not start listening");
    }

    /// <summary>A port free right now on 127.0.0.1 (the OS picks it).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
