namespace Omoikane.Server.Transport;

/// <summary>What a matching rule decides: the file's default (allow in hosts.allow, deny in hosts.deny), or an explicit option.</summary>
public enum HostsAccessOption { FileDefault, Allow, Deny }

/// <summary>
/// One rule, "daemon_list : client_list [: allow|deny]" (hosts_access(5), hosts_options(5)). Each list is a
/// sequence of patterns, optionally followed by EXCEPT and another list (which may itself contain EXCEPT).
/// </summary>
public sealed record HostsAccessRule(
    IReadOnlyList<string> Daemons, IReadOnlyList<HostsAccessPattern> Clients, HostsAccessOption Option, string File, int Line)
{
    public const string Except = "EXCEPT";

    public bool NeedsName => Clients.Any(c => c.NeedsName);

    /// <summary>True when one of the daemon patterns names this service (smtpd, pop3d, a master.cf service name, ALL).</summary>
    public bool MatchesDaemon(IReadOnlyCollection<string> daemonNames)
        => ListMatches(Daemons, 0, d => d.Equals("ALL", StringComparison.OrdinalIgnoreCase)
            || daemonNames.Any(n => n.Equals(d, StringComparison.OrdinalIgnoreCase)), d => d.Equals(Except, StringComparison.OrdinalIgnoreCase));

    public bool MatchesClient(System.Net.IPAddress address, HostsAccessName name)
        => ListMatches(Clients, 0, c => c.Matches(address, name), c => c.Kind == HostsAccessPatternKind.Except);

    /// <summary>hosts_access.c list_match: a match before EXCEPT counts unless the rest of the list (after EXCEPT) matches.</summary>
    private static bool ListMatches<T>(IReadOnlyList<T> list, int start, Func<T, bool> match, Func<T, bool> isExcept)
    {
        for (int i = start; i < list.Count; i++)
        {
            if (isExcept(list[i])) return false;
            if (!match(list[i])) continue;
            int j = i + 1;
            while (j < list.Count && !isExcept(list[j])) j++;
            return j >= list.Count || !ListMatches(list, j + 1, match, isExcept);
        }
        return false;
    }
}
