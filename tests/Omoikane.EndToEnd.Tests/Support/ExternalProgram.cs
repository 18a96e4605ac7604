using System.Diagnostics;

namespace Omoikane.EndToEnd.Tests.Support;

/// <summary>Runs a Debian program for interop tests; tests skip (with the reason) where it is not installed.</summary>
public static class ExternalProgram
{
    public static string? Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Concat(["/usr/sbin", "/sbin"]))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public static void SkipUnlessInstalled(string name, string package)
        => Skip.If(Find(name) is null, $"{name} is not installed (Debian package {package}; .ci/run installs it)");

    public static async Task<(int Code, string Out, string Err)> RunAsync(string program, IEnumerable<string> args, string? stdin = null,
        IDictionary<string, string>? env = null, int timeoutMs = 60000)
    {
        var psi = new ProcessStartInfo(Find(program) ?? program)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeoutMs);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); throw new TimeoutException(program + " did not finish"); }
        return (p.ExitCode, await so, await se);
    }
}
