using Omoikane.Mail.Config;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Server.Hosting;

namespace Omoikane.Cli;

public static partial class CheckCommand
{
    /// <summary>
    /// Local delivery: postmaster must reach someone (RFC 5321 §4.5.1), and the mailbox size limits must
    /// not be below message_size_limit (Postfix's local(8) and virtual(8) refuse to start then).
    /// </summary>
    private static void CheckLocalDelivery(LoadedConfig config, TableFactory tables, ConfigDiagnostics extra, string file)
    {
        var main = config.Main;
        var messageLimit = main.GetSize("message_size_limit");
        foreach (var name in new[] { "mailbox_size_limit", "virtual_mailbox_limit" })
        {
            var limit = main.GetSize(name);
            if (limit > 0 && messageLimit > 0 && limit < messageLimit)
                extra.Warning(file, main.Source(name)?.Line ?? 0,
                    $"{name} ({limit}) is smaller than message_size_limit ({messageLimit}): accepted messages in between would bounce; raise {name} or set it to 0");
        }
        try
        {
            var aliases = main.GetList("alias_maps").Select(spec => tables.CreateAliasMap(spec, new ConfigDiagnostics(), file)).OfType<ILookupTable>().ToList();
            var users = new FileUserStore(main.Get("user_database"), CredentialOptions.FromParameters(main));
            var local = new LocalRecipients(main, aliases, new UserStoreUsers(users), new DomainClassifier(main, tables, new ConfigDiagnostics()));
            var domain = main.GetList("mydestination").FirstOrDefault() ?? main.Get("myhostname");
            if (local.PostmasterProblemAsync(domain).AsTask().GetAwaiter().GetResult() is { } problem)
            {
                // On the line that decides where postmaster goes: alias_maps, else mydestination, else myhostname.
                var at = main.Source("alias_maps") ?? main.Source("mydestination") ?? main.Source("myhostname");
                extra.Warning(at?.File ?? file, at?.Line ?? 0, $"postmaster: {problem}");
            }
        }
        catch (Exception ex) when (ex is UserStoreException or IOException or UnauthorizedAccessException)
        {
            // The user store's own check reports it.
        }
    }
}
