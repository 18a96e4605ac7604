using System.CommandLine;

namespace Omoikane.Cli;

/// <summary>The omoikane command: serve, reload, check, config, user, queue, relaytest, sendmail (CONTRACT.md "Build and run").</summary>
public static class CommandLine
{
    public static readonly Option<string?> ConfigOption = new("--config")
    {
        Description = "Configuration directory (main.cf, master.cf, hosts.allow, hosts.deny); default: $OMOIKANE_CONFIG, else /etc/omoikane when it has a main.cf, else the embedded default",
        Recursive = true,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        // Run as sendmail, mailq or newaliases (a symlink to the program), or "omoikane [--config DIR] sendmail ...":
        // Postfix's option syntax, not this parser's.
        if (SendmailCommand.InvokedAs() is { } name) return await SendmailCommand.RunAsync(name, args, null).ConfigureAwait(false);
        var at = args.Length >= 2 && args[0] == "--config" ? 2 : 0;
        if (args.Length > at && args[at] == "sendmail")
            return await SendmailCommand.RunAsync("sendmail", args[(at + 1)..], at == 2 ? args[1] : null).ConfigureAwait(false);
        var root = new RootCommand("Omoikane: a mail server (SMTP, submission, POP3) configured like Postfix");
        root.Options.Add(ConfigOption);
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ReloadCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(UserCommands.Create());
        root.Subcommands.Add(QueueCommands.Create());
        root.Subcommands.Add(RelayTestCommand.Create());
        root.Subcommands.Add(ExplainCommand.Create());
        root.Subcommands.Add(DkimCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(SendmailCommand.Create());
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: the most specific error (an unknown word says more than "command required").
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            Console.Error.WriteLine($"omoikane: {error.Message} (see omoikane --help)");
            return 64; // EX_USAGE
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"omoikane: {ex.Message}");
            return ex.ExitCode;
        }
    }
}

/// <summary>An expected failure of a command: printed as one line on stderr, exit code non-zero.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
