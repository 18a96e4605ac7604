using System.Text;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// An alias_maps table in aliases(5) syntax: "name: value, value, ...", with '#' comments,
/// continuation lines (leading white space) and quoted names ("\"a b\": c"). Lookups take the
/// local part or the full address (compared by <see cref="AddressKey"/>, as every address key is)
/// and return the target list as written, e.g. "root, john".
/// </summary>
public sealed class AliasTable : ILookupTable
{
    private readonly Dictionary<string, string> _entries;

    public string Name { get; }

    private AliasTable(string name, Dictionary<string, string> entries)
    {
        Name = name;
        _entries = entries;
    }

    public int Count => _entries.Count;

    public static AliasTable Parse(string name, string file, string text, ConfigDiagnostics diagnostics)
    {
        var entries = new Dictionary<string, string>(AddressKey.Comparer);
        foreach (var (line, lineNo) in TextTableReader.LogicalLines(text))
        {
            if (!TrySplit(line, out var alias, out var value))
            {
                diagnostics.Error(file, lineNo, $"aliases entry \"{line}\" needs a colon: write \"name: target, target\" (aliases(5))");
                continue;
            }
            if (alias.Length == 0)
            {
                diagnostics.Error(file, lineNo, "aliases entry has an empty name (aliases(5))");
                continue;
            }
            if (value.Length == 0)
            {
                diagnostics.Error(file, lineNo, $"alias \"{alias}\" has no target (aliases(5))");
                continue;
            }
            if (!entries.TryAdd(alias, value))
                diagnostics.Warning(file, lineNo, $"duplicate alias \"{alias}\": the first one is used");
        }
        return new AliasTable(name, entries);
    }

    private static bool TrySplit(string line, out string alias, out string value)
    {
        alias = value = "";
        int i = 0;
        var sb = new StringBuilder();
        if (line.StartsWith('"'))
        {
            for (i = 1; i < line.Length; i++)
            {
                if (line[i] == '\\' && i + 1 < line.Length) { sb.Append(line[++i]); continue; }
                if (line[i] == '"') break;
                sb.Append(line[i]);
            }
            if (i >= line.Length) return false;
            i++;
            while (i < line.Length && char.IsWhiteSpace(line[i])) i++;
            if (i >= line.Length || line[i] != ':') return false;
        }
        else
        {
            var colon = line.IndexOf(':');
            if (colon < 0) return false;
            sb.Append(line.AsSpan(0, colon).Trim());
            i = colon;
        }
        alias = sb.ToString();
        value = line[(i + 1)..].Trim();
        return true;
    }

    public ValueTask<LookupResult> LookupAsync(string key, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_entries.TryGetValue(key, out var v) ? LookupResult.Found(v) : LookupResult.NotFound);

    /// <summary>
    /// The targets of an alias split on commas and white space, as local(8) does; a double-quoted target keeps
    /// its commas and spaces ("\"|/usr/bin/vacation -a joe\"").
    /// </summary>
    public static IReadOnlyList<string> SplitTargets(string value)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        foreach (var c in value)
        {
            if (c == '"') quoted = !quoted;
            if ((c == ',' || char.IsWhiteSpace(c)) && !quoted)
            {
                if (sb.ToString().Trim() is { Length: > 0 } t) result.Add(t);
                sb.Clear();
                continue;
            }
            sb.Append(c);
        }
        if (sb.ToString().Trim() is { Length: > 0 } last) result.Add(last);
        return result;
    }
}
