using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// texthash: and hash: tables, both read from the text source file (postmap(1) input format):
/// "key value" per logical line. Keys compare by their canonical form (<see cref="AddressKey"/>:
/// case-insensitive as Postfix folds fixed-string keys to lower case, and the same Unicode folding as
/// user and alias lookups, so no spelling of an address escapes its entry). A duplicate key keeps the first value and is reported, as postmap does.
/// </summary>
public sealed class TextHashTable : ILookupTable
{
    private readonly Dictionary<string, string> _entries;

    public string Name { get; }

    private TextHashTable(string name, Dictionary<string, string> entries)
    {
        Name = name;
        _entries = entries;
    }

    public int Count => _entries.Count;

    public static TextHashTable Parse(string name, string file, string text, ConfigDiagnostics diagnostics)
    {
        var entries = new Dictionary<string, string>(AddressKey.Comparer);
        foreach (var (line, lineNo) in TextTableReader.LogicalLines(text))
        {
            var sp = line.IndexOfAny([' ', '\t']);
            var key = sp < 0 ? line : line[..sp];
            var value = sp < 0 ? "" : line[sp..].Trim();
            if (value.Length == 0)
            {
                diagnostics.Error(file, lineNo, $"entry \"{key}\" has no value: write \"key value\" (postmap(1) input format)");
                continue;
            }
            if (!entries.TryAdd(key, value))
                diagnostics.Warning(file, lineNo, $"duplicate entry \"{key}\": the first one is used");
        }
        return new TextHashTable(name, entries);
    }

    internal static TextHashTable FromPairs(string name, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var d = new Dictionary<string, string>(AddressKey.Comparer);
        foreach (var p in pairs) d.TryAdd(p.Key, p.Value);
        return new TextHashTable(name, d);
    }

    public ValueTask<LookupResult> LookupAsync(string key, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_entries.TryGetValue(key, out var v) ? LookupResult.Found(v) : LookupResult.NotFound);
}
