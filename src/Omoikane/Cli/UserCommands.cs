using System.CommandLine;
using System.Text.Json;
using Omoikane.Mail.Credentials;

namespace Omoikane.Cli;

/// <summary>omoikane user add|del|passwd|list: the virtual user store ($user_database, mode 0600).</summary>
public static class UserCommands
{
    public static Command Create()
    {
        var user = new Command("user", "Manage users (login name = full address)");
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of standard input" };

        var address = new Argument<string>("address") { Description = "The user's address, e.g. alice@example.com" };
        var add = new Command("add", "Add a user") { address, passwordStdin };
        add.SetAction(parse =>
        {
            var store = Open(parse);
            var password = ReadPassword(parse.GetValue(passwordStdin));
            Run(() => store.Add(parse.GetValue(address)!, password));
            return 0;
        });

        var address2 = new Argument<string>("address");
        var del = new Command("del", "Delete a user (the mailbox is kept)") { address2 };
        del.SetAction(parse =>
        {
            var store = Open(parse);
            var a = parse.GetValue(address2)!;
            bool removed = false;
            Run(() => removed = store.Delete(a));
            if (!removed) throw new CliException($"user {a} does not exist");
            return 0;
        });

        var address3 = new Argument<string>("address");
        var passwordStdin3 = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of standard input" };
        var passwd = new Command("passwd", "Change a user's password") { address3, passwordStdin3 };
        passwd.SetAction(parse =>
        {
            var store = Open(parse);
            var password = ReadPassword(parse.GetValue(passwordStdin3));
            Run(() => store.SetPassword(parse.GetValue(address3)!, password));
            return 0;
        });

        var json = new Option<bool>("--json") { Description = "Print a JSON array" };
        var list = new Command("list", "List users") { json };
        list.SetAction(parse =>
        {
            var store = Open(parse);
            IReadOnlyList<string> users = [];
            Run(() => users = store.List());
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(users));
            else foreach (var u in users) Console.WriteLine(u);
            return 0;
        });

        user.Subcommands.Add(add);
        user.Subcommands.Add(del);
        user.Subcommands.Add(passwd);
        user.Subcommands.Add(list);
        return user;
    }

    private static FileUserStore Open(ParseResult parse)
    {
        var config = CliConfig.Load(parse);
        var path = config.Main.Get("user_database");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new FileUserStore(path, CredentialOptions.FromParameters(config.Main));
    }

    private static void Run(Action action)
    {
        try { action(); }
        catch (UserStoreException ex) { throw new CliException(ex.Message); }
        catch (IOException ex) { throw new CliException(ex.Message); }
        catch (UnauthorizedAccessException ex) { throw new CliException(ex.Message); }
    }

    /// <summary>Non-interactive by design: the password comes from standard input (first line) only.</summary>
    private static string ReadPassword(bool fromStdin)
    {
        if (!fromStdin) throw new CliException("a password is required: give it on standard input with --password-stdin");
        var line = Console.In.ReadLine();
        if (string.IsNullOrEmpty(line)) throw new CliException("empty password on standard input");
        return line.TrimEnd('\r');
    }
}
