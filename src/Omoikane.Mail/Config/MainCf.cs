namespace Omoikane.Mail.Config;

/// <summary>One "name = value" of a Postfix-syntax file, with where it came from.</summary>
public sealed record ConfigEntry(string Name, string Value, string File, int Line);

/// <summary>
/// Parser for main.cf (postconf(5) syntax): "name = value"; '#' starts a comment line; a line that
/// starts with white space continues the previous logical line; empty lines and comment lines end
/// nothing (as in Postfix, a comment line inside a continued value is skipped). A later definition
/// of the same name wins.
/// </summary>
public static class MainCf
{
    public static IReadOnlyList<ConfigEntry> Parse(string text, string file, ConfigDiagnostics diagnostics)
    {
        var entries = new List<ConfigEntry>();
        string? current = null;
        int currentLine = 0;
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#')
                continue;
            if (char.IsWhiteSpace(line[0]))
            {
                if (current is null)
                {
                    diagnostics.Error(file, i + 1, "continuation line without a preceding \"name = value\" line; remove the leading white space");
                    continue;
                }
                current += " " + trimmed.TrimEnd();
                continue;
            }
            if (current is not null)
                Add(entries, current, file, currentLine, diagnostics);
            current = line.TrimEnd();
            currentLine = i + 1;
        }
        if (current is not null)
            Add(entries, current, file, currentLine, diagnostics);
        return entries;
    }

    private static void Add(List<ConfigEntry> entries, string logical, string file, int line, ConfigDiagnostics diagnostics)
    {
        var eq = logical.IndexOf('=');
        if (eq < 0)
        {
            diagnostics.Error(file, line, $"missing '=' after parameter name in \"{Shorten(logical)}\"; write \"name = value\"");
            return;
        }
        var name = logical[..eq].Trim();
        var value = logical[(eq + 1)..].Trim();
        if (name.Length == 0 || !IsValidName(name))
        {
            diagnostics.Error(file, line, $"invalid parameter name \"{Shorten(name)}\"; names use letters, digits and '_'");
            return;
        }
        entries.Add(new ConfigEntry(name, value, file, line));
    }

    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-' || c == '.'))
                return false;
        return true;
    }

    private static string Shorten(string s) => s.Length > 60 ? s[..60] + "..." : s;
}
