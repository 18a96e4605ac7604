using Omoikane.Mail.Config;

namespace Omoikane.Server.Transport;

/// <summary>
/// A parsed hosts.allow or hosts.deny (hosts_access(5)): "#" comment lines, "\" at the end of a line
/// continues it, "daemon_list : client_list [: option ...]". A line that cannot be used is skipped with a
/// warning naming file and line; it never stops the others from applying.
/// </summary>
public sealed class HostsAccessFile
{
    public static readonly HostsAccessFile Empty = new([], null);

    public IReadOnlyList<HostsAccessRule> Rules { get; }
    /// <summary>The file's modification time when read (null: the file does not exist).</summary>
    public DateTime? LastWriteUtc { get; }

    private HostsAccessFile(IReadOnlyList<HostsAccessRule> rules, DateTime? lastWriteUtc)
    {
        Rules = rules;
        LastWriteUtc = lastWriteUtc;
    }

    /// <summary>
    /// Reads the file. A missing file is empty (no rules). One that exists but cannot be read (no permission,
    /// a directory in its place, an I/O error) is an error and stands for a rule "ALL : ALL : deny": every
    /// client of every service is refused, as tcp_wrappers refuses when it cannot open a table (fail closed).
    /// </summary>
    public static HostsAccessFile Load(string path, ConfigDiagnostics diags)
    {
        if (Directory.Exists(path)) return Unreadable(path, "is a directory, not a file", diags);
        if (!File.Exists(path)) return Empty;
        try
        {
            var mtime = File.GetLastWriteTimeUtc(path);
            return new HostsAccessFile(Parse(File.ReadAllText(path), path, diags), mtime);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Unreadable(path, $"cannot read: {ex.Message}", diags);
        }
    }

    /// <summary>True when the file exists but could not be read: it then refuses every client.</summary>
    public bool IsUnreadable { get; private init; }

    private static HostsAccessFile Unreadable(string path, string why, ConfigDiagnostics diags)
    {
        diags.Error(path, 0, $"{why}; every client is refused until it can be read (fix its permissions: chmod 644)");
        var denyAll = new HostsAccessRule(["ALL"], [new HostsAccessPattern(HostsAccessPatternKind.All, "ALL")], HostsAccessOption.Deny, path, 0);
        DateTime? mtime = null;
        try { mtime = Directory.Exists(path) ? Directory.GetLastWriteTimeUtc(path) : File.GetLastWriteTimeUtc(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return new HostsAccessFile([denyAll], mtime) { IsUnreadable = true };
    }

    public static IReadOnlyList<HostsAccessRule> Parse(string text, string file, ConfigDiagnostics diags)
    {
        var rules = new List<HostsAccessRule>();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int first = i + 1;
            var line = lines[i];
            // A backslash at the very end of a line joins the next line (hosts_access(5) "a newline character is ignored when it is preceded by a backslash").
            while (line.EndsWith('\\') && i + 1 < lines.Length)
                line = line[..^1] + " " + lines[++i];
            if (line.EndsWith('\\')) line = line[..^1];
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#')) continue;
            var rule = ParseRule(trimmed, file, first, diags);
            if (rule is not null) rules.Add(rule);
        }
        return rules;
    }

    private static HostsAccessRule? ParseRule(string line, string file, int lineNo, ConfigDiagnostics diags)
    {
        var fields = SplitFields(line);
        if (fields.Count < 2)
        {
            diags.Warning(file, lineNo, "missing \":\" separator; expected \"daemon_list : client_list [: allow|deny]\"; line ignored");
            return null;
        }
        var daemons = Tokens(fields[0]);
        var clientTokens = Tokens(fields[1]);
        if (daemons.Count == 0) { diags.Warning(file, lineNo, "empty daemon list; line ignored"); return null; }
        if (clientTokens.Count == 0) { diags.Warning(file, lineNo, "empty client list; line ignored"); return null; }
        if (!ListShapeOk(daemons) || !ListShapeOk(clientTokens))
        {
            diags.Warning(file, lineNo, "EXCEPT must stand between two non-empty lists; line ignored");
            return null;
        }
        foreach (var d in daemons)
        {
            if (d.Contains('@'))
                diags.Warning(file, lineNo, $"daemon pattern \"{d}\": daemon@host is not supported; it never matches");
            else if (!d.Equals("ALL", StringComparison.OrdinalIgnoreCase) && !d.Equals(HostsAccessRule.Except, StringComparison.OrdinalIgnoreCase)
                     && d is not ("smtpd" or "pop3d") && !d.Any(char.IsAsciiDigit) && !IsKnownServiceName(d))
                diags.Warning(file, lineNo, $"daemon \"{d}\" is none of smtpd, pop3d, ALL or a master.cf service name");
        }
        var clients = new List<HostsAccessPattern>();
        foreach (var t in clientTokens)
        {
            if (t.Equals(HostsAccessRule.Except, StringComparison.OrdinalIgnoreCase))
            {
                clients.Add(new HostsAccessPattern(HostsAccessPatternKind.Except, t));
                continue;
            }
            var pattern = HostsAccessPattern.Parse(t, out var error);
            if (error is not null) diags.Warning(file, lineNo, error);
            clients.Add(pattern);
        }
        var option = HostsAccessOption.FileDefault;
        for (int f = 2; f < fields.Count; f++)
        {
            var opt = fields[f].Trim();
            var keyword = opt.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
            if (keyword.Equals("allow", StringComparison.OrdinalIgnoreCase) || keyword.Equals("deny", StringComparison.OrdinalIgnoreCase))
            {
                if (f != fields.Count - 1)
                    diags.Warning(file, lineNo, $"option \"{keyword}\" must be the last option (hosts_options(5)); later options ignored");
                option = keyword.Equals("allow", StringComparison.OrdinalIgnoreCase) ? HostsAccessOption.Allow : HostsAccessOption.Deny;
                break;
            }
            diags.Warning(file, lineNo, opt.Length == 0
                ? "empty option field ignored"
                : $"option or shell command \"{opt}\" is not supported (only allow and deny); ignored");
        }
        return new HostsAccessRule(daemons, clients, option, file, lineNo);
    }

    private static bool IsKnownServiceName(string d) => d is "smtp" or "submission" or "submissions" or "smtps" or "pop3" or "pop3s";

    /// <summary>Splits on ":" outside brackets (so [::1]/128 stays whole).</summary>
    private static List<string> SplitFields(string line)
    {
        var fields = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '[') depth++;
            else if (line[i] == ']' && depth > 0) depth--;
            else if (line[i] == ':' && depth == 0) { fields.Add(line[start..i]); start = i + 1; }
        }
        fields.Add(line[start..]);
        return fields;
    }

    private static List<string> Tokens(string list)
        => list.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries).ToList();

    private static bool ListShapeOk(List<string> tokens)
    {
        bool previousWasItem = false;
        foreach (var t in tokens)
        {
            if (t.Equals(HostsAccessRule.Except, StringComparison.OrdinalIgnoreCase))
            {
                if (!previousWasItem) return false;
                previousWasItem = false;
            }
            else previousWasItem = true;
        }
        return previousWasItem;
    }
}
