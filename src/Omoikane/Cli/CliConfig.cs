using System.CommandLine;
using Omoikane.Mail.Config;

namespace Omoikane.Cli;

/// <summary>Loads the configuration for a command; refuses to go on when it has errors.</summary>
public static class CliConfig
{
    /// <summary>The installed server's configuration directory, used when it holds a main.cf.</summary>
    public const string SystemDirectory = "/etc/omoikane";

    /// <summary>
    /// The configuration directory: --config DIR, else $OMOIKANE_CONFIG, else /etc/omoikane when it holds a
    /// main.cf, else none (the embedded default). So "ssh host omoikane queue list" finds the installed server.
    /// </summary>
    public static string? Directory(ParseResult parse)
    {
        var dir = parse.GetValue(CommandLine.ConfigOption);
        if (!string.IsNullOrEmpty(dir)) return dir;
        var env = Environment.GetEnvironmentVariable("OMOIKANE_CONFIG");
        if (!string.IsNullOrEmpty(env)) return env;
        return File.Exists(Path.Combine(SystemDirectory, "main.cf")) ? SystemDirectory : null;
    }

    public static LoadedConfig Load(ParseResult parse, bool failOnErrors = true)
    {
        var config = ConfigLoader.Load(Directory(parse));
        if (failOnErrors && config.Diagnostics.HasErrors) Refuse(config.Diagnostics.Errors.ToList());
        return config;
    }

    /// <summary>
    /// Loads the configuration and runs every check "omoikane check" makes; any error refuses the command
    /// (serve, reload): each error on stderr naming its file and line. Errors that the server answers by
    /// refusing clients (an unreadable hosts.deny) do not stop it: it starts and refuses, as tcp_wrappers does.
    /// </summary>
    public static LoadedConfig LoadChecked(ParseResult parse)
    {
        var config = Load(parse);
        var errors = CheckCommand.Run(config).Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && !d.FailsClosed).ToList();
        if (errors.Count > 0) Refuse(errors);
        return config;
    }

    private static void Refuse(IReadOnlyList<ConfigDiagnostic> errors)
    {
        if (errors.Count == 1) throw new CliException(errors[0].ToString());
        foreach (var e in errors) Console.Error.WriteLine($"omoikane: {e}");
        throw new CliException($"{errors.Count} errors in the configuration");
    }
}
