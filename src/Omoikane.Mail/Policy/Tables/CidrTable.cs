using System.Net;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// cidr_table(5): lines "network/prefix result", tried in file order, first match wins. '#' comment
/// lines, empty lines, and continuation lines (leading white space) as in the other text tables.
/// A bare address matches that host only.
/// </summary>
public sealed class CidrTable : ILookupTable, IPatternTable
{
    private readonly IReadOnlyList<(IpNetwork Network, string Value)> _entries;

    public string Name { get; }

    private CidrTable(string name, IReadOnlyList<(IpNetwork, string)> entries)
    {
        Name = name;
        _entries = entries;
    }

    public int Count => _entries.Count;

    public static CidrTable Parse(string name, string file, string text, ConfigDiagnostics diagnostics)
    {
        var entries = new List<(IpNetwork, string)>();
        foreach (var (line, lineNo) in TextTableReader.LogicalLines(text))
        {
            var sp = line.IndexOfAny([' ', '\t']);
            if (sp < 0)
            {
                diagnostics.Error(file, lineNo, $"cidr table entry \"{line}\" has no result: write \"network/prefix result\" (cidr_table(5))");
                continue;
            }
            var key = line[..sp];
            var value = line[sp..].Trim();
            if (key.StartsWith('!') || key.Equals("if", StringComparison.OrdinalIgnoreCase) || key.Equals("endif", StringComparison.OrdinalIgnoreCase))
            {
                diagnostics.Error(file, lineNo, $"\"{key}\" is not supported in cidr tables here: list the networks explicitly");
                continue;
            }
            if (!IpNetwork.TryParse(key, out var net, out var error))
            {
                diagnostics.Error(file, lineNo, $"{error} (cidr_table(5): \"network/prefix result\")");
                continue;
            }
            entries.Add((net, value));
        }
        return new CidrTable(name, entries);
    }

    public ValueTask<LookupResult> LookupAsync(string key, CancellationToken cancellationToken = default)
    {
        var k = key.Trim();
        if (k.StartsWith('[') && k.EndsWith(']')) k = k[1..^1];
        if (!IPAddress.TryParse(k, out var addr)) return ValueTask.FromResult(LookupResult.NotFound);
        foreach (var (net, value) in _entries)
            if (net.Contains(addr)) return ValueTask.FromResult(LookupResult.Found(value));
        return ValueTask.FromResult(LookupResult.NotFound);
    }
}
