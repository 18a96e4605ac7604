using Omoikane.Mail.Config;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// Opens lookup tables from "type:name" as written in main.cf. Supported: cidr:PATH, texthash:PATH,
/// hash:PATH (the text source PATH itself, no postmap step), inline:{ key=value, ... }, static:value.
/// Each table is read once, when first named; the same spec returns the same table afterwards.
/// Problems are reported as diagnostics naming the file, the line and the fix; Create then returns null.
/// </summary>
public sealed class TableFactory
{
    private readonly Dictionary<string, ILookupTable> _tables = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AliasTable> _aliases = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    /// <param name="baseDirectory">Relative paths are taken from here (the config directory), else from the working directory.</param>
    public TableFactory(string? baseDirectory = null) => BaseDirectory = baseDirectory;

    public string? BaseDirectory { get; }

    public static bool LooksLikeTable(string token)
    {
        var colon = token.IndexOf(':');
        return colon > 0 && token[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
    }

    /// <summary>Makes "spec" name an existing table (other table types, or a test double); later Create calls return it.</summary>
    public void Register(string spec, ILookupTable table)
    {
        lock (_lock) _tables[spec] = table;
    }

    /// <param name="origin">Where the spec was written ("main.cf"), for diagnostics about the spec itself.</param>
    public ILookupTable? Create(string spec, ConfigDiagnostics diagnostics, string origin = "main.cf", int originLine = 0)
    {
        lock (_lock)
        {
            if (_tables.TryGetValue(spec, out var cached)) return cached;
            var table = Open(spec, diagnostics, origin, originLine);
            if (table is not null) _tables[spec] = table;
            return table;
        }
    }

    /// <summary>
    /// An alias_maps entry. A file-based table (hash:, texthash:) in alias_maps is in aliases(5)
    /// syntax, not postmap syntax; inline: and static: work as elsewhere.
    /// </summary>
    public ILookupTable? CreateAliasMap(string spec, ConfigDiagnostics diagnostics, string origin = "main.cf", int originLine = 0)
    {
        var colon = spec.IndexOf(':');
        var type = colon > 0 ? spec[..colon].ToLowerInvariant() : "";
        if (type is not ("hash" or "texthash")) return Create(spec, diagnostics, origin, originLine);
        lock (_lock)
        {
            if (_aliases.TryGetValue(spec, out var cached)) return cached;
            var path = Resolve(spec[(colon + 1)..]);
            if (!TryRead(spec, path, diagnostics, origin, originLine, out var text)) return null;
            var table = AliasTable.Parse(spec, path, text, diagnostics);
            _aliases[spec] = table;
            return table;
        }
    }

    private ILookupTable? Open(string spec, ConfigDiagnostics diagnostics, string origin, int originLine)
    {
        var colon = spec.IndexOf(':');
        if (colon <= 0)
        {
            diagnostics.Error(origin, originLine, $"\"{spec}\" is not a lookup table: write type:name, e.g. hash:/etc/postfix/access");
            return null;
        }
        var type = spec[..colon].ToLowerInvariant();
        var name = spec[(colon + 1)..];
        switch (type)
        {
            case "cidr":
            {
                var path = Resolve(name);
                return TryRead(spec, path, diagnostics, origin, originLine, out var text) ? CidrTable.Parse(spec, path, text, diagnostics) : null;
            }
            case "hash":
            case "texthash":
            {
                var path = Resolve(name);
                return TryRead(spec, path, diagnostics, origin, originLine, out var text) ? TextHashTable.Parse(spec, path, text, diagnostics) : null;
            }
            case "inline":
                return InlineTable.Parse(spec, diagnostics, origin, originLine);
            case "static":
            {
                var value = name.Trim();
                if (value.StartsWith('{') && value.EndsWith('}')) value = value[1..^1].Trim();
                return new StaticTable(spec, value);
            }
            default:
                diagnostics.Error(origin, originLine,
                    $"unsupported lookup table type \"{type}\" in \"{spec}\": use cidr:, texthash:, hash: (read from the text file itself), inline: or static:");
                return null;
        }
    }

    private string Resolve(string path)
        => Path.IsPathRooted(path) || BaseDirectory is null ? path : Path.Combine(BaseDirectory, path);

    private static bool TryRead(string spec, string path, ConfigDiagnostics diagnostics, string origin, int originLine, out string text)
    {
        text = "";
        if (path.Length == 0)
        {
            diagnostics.Error(origin, originLine, $"lookup table \"{spec}\" names no file: write {spec}/path/to/file");
            return false;
        }
        try
        {
            text = File.ReadAllText(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            diagnostics.Error(path, 0,
                $"cannot open lookup table \"{spec}\" ({why}): create the text file (\"key value\" lines) or fix the name in {origin}");
            return false;
        }
    }
}
