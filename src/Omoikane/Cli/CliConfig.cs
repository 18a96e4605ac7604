using System.CommandLine;
using Omoikane.Mail.Config;

namespace Omoikane.Cli;

/// <summary>Loads the configuration named by --config for a command; refuses to go on when it has errors.</summary>
public static class CliConfig
{
    public static LoadedConfig Load(ParseResult parse, bool failOnErrors = true)
    {
        var dir = parse.GetValue(CommandLine.ConfigOption);
        var config = ConfigLoader.Load(dir);
        if (failOnErrors && config.Diagnostics.HasErrors)
        {
            foreach (var e in config.Diagnostics.Errors.Skip(1)) Console.Error.WriteLine($"omoikane: {e}");
            throw new CliException(config.Diagnostics.Errors.First().ToString());
        }
        return config;
    }
}
