using System.CommandLine;
using System.Runtime.InteropServices;
using Omoikane.Mail.Config;

namespace Omoikane.Cli;

/// <summary>
/// omoikane reload (like postfix reload): checks the configuration, then sends SIGHUP to the running server
/// named by $data_directory/omoikane.pid. The server re-reads main.cf, master.cf, tables, certificates and
/// hosts.allow/hosts.deny; open sessions continue on the settings they started with.
/// </summary>
public static class ReloadCommand
{
    private const int SigHup = 1;

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    public static Command Create()
    {
        var cmd = new Command("reload", "Make the running server re-read its configuration (SIGHUP), after checking it");
        cmd.SetAction(parse =>
        {
            var config = CliConfig.LoadChecked(parse);
            var path = PidFile.PathFor(config);
            var pid = PidFile.Read(path) ?? throw new CliException($"no running server (no pid file {path})");
            if (!PidFile.IsRunning(pid))
                throw new CliException($"no running server (stale pid file {path}: process {pid} does not exist)");
            if (Kill(pid, SigHup) != 0)
                throw new CliException($"cannot signal process {pid}: {Marshal.GetLastPInvokeErrorMessage()}");
            Console.Error.WriteLine($"omoikane: reload signal sent to process {pid}; the result is logged in {config.Main.Get("maillog_file")}");
            return 0;
        });
        return cmd;
    }
}

/// <summary>$data_directory/omoikane.pid: written when serve starts, removed when it stops.</summary>
public static class PidFile
{
    public static string PathFor(LoadedConfig config) => Path.Combine(config.DataDirectory, "omoikane.pid");

    public static void Write(string path)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, Environment.ProcessId + "\n");
        File.Move(tmp, path, overwrite: true);
    }

    public static int? Read(string path)
    {
        try { return int.TryParse(File.ReadAllText(path).Trim(), out var pid) && pid > 0 ? pid : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    public static bool IsRunning(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Removes the file if it still names this process.</summary>
    public static void Remove(string path)
    {
        if (Read(path) == Environment.ProcessId)
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
