using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Config;

/// <summary>
/// The effective parameter values of one service: defaults, then main.cf, then master.cf "-o"
/// overrides. Values expand "$name", "${name}", "$(name)", "${name?value}", "${name:value}" and
/// "${name?{value1}:{value2}}" (postconf(5)) lazily at lookup. Immutable: WithOverrides returns a new snapshot.
/// </summary>
public sealed class Parameters
{
    private readonly IReadOnlyDictionary<string, ConfigEntry> _explicit;
    private readonly IReadOnlyDictionary<string, string> _dynamicDefaults;
    private readonly Dictionary<string, string> _expandedCache = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public Parameters(IEnumerable<ConfigEntry> entries, IReadOnlyDictionary<string, string>? dynamicDefaults = null)
    {
        var d = new Dictionary<string, ConfigEntry>(StringComparer.Ordinal);
        foreach (var e in entries) d[e.Name] = e;
        _explicit = d;
        _dynamicDefaults = dynamicDefaults ?? new Dictionary<string, string>();
    }

    /// <summary>An empty configuration (all defaults).</summary>
    public static Parameters Defaults(IReadOnlyDictionary<string, string>? dynamicDefaults = null) => new([], dynamicDefaults);

    public Parameters WithOverrides(IEnumerable<ConfigEntry> overrides)
        => new(_explicit.Values.Concat(overrides), _dynamicDefaults);

    public Parameters With(string name, string value) => WithOverrides([new ConfigEntry(name, value, "(override)", 0)]);

    /// <summary>Names set explicitly (main.cf or overrides).</summary>
    public IEnumerable<ConfigEntry> ExplicitEntries => _explicit.Values;

    public bool IsExplicit(string name) => _explicit.ContainsKey(name);

    public ConfigEntry? Source(string name) => _explicit.TryGetValue(name, out var e) ? e : null;

    /// <summary>The value before expansion (explicit, else the default), or null when the name is unknown.</summary>
    public string? GetRaw(string name)
    {
        if (_explicit.TryGetValue(name, out var e)) return e.Value;
        if (_dynamicDefaults.TryGetValue(name, out var dv)) return dv;
        if (ParameterTable.TryGet(name, out var def)) return def.Default;
        return null;
    }

    public string DefaultRaw(string name)
        => _dynamicDefaults.TryGetValue(name, out var dv) ? dv : ParameterTable.TryGet(name, out var def) ? def.Default : "";

    /// <summary>The expanded value ("" for an unknown name).</summary>
    public string Get(string name)
    {
        lock (_lock)
        {
            if (_expandedCache.TryGetValue(name, out var cached)) return cached;
            var v = Expand(GetRaw(name) ?? "", new HashSet<string>(StringComparer.Ordinal) { name });
            _expandedCache[name] = v;
            return v;
        }
    }

    public string this[string name] => Get(name);

    /// <summary>Expands $references in an arbitrary text against these parameters.</summary>
    public string ExpandText(string text)
    {
        lock (_lock) return Expand(text, new HashSet<string>(StringComparer.Ordinal));
    }

    private string Expand(string text, HashSet<string> active)
    {
        if (!text.Contains('$')) return text;
        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c != '$' || i + 1 >= text.Length) { sb.Append(c); continue; }
            char n = text[i + 1];
            if (n == '$') { sb.Append('$'); i++; continue; }
            string name; string? op = null; string? arg = null;
            if (n == '{' || n == '(')
            {
                char close = n == '{' ? '}' : ')';
                int depth = 0, j = i + 1;
                for (; j < text.Length; j++)
                {
                    if (text[j] == n) depth++;
                    else if (text[j] == close && --depth == 0) break;
                }
                if (j >= text.Length) { sb.Append(text, i, text.Length - i); break; }
                var inner = text.Substring(i + 2, j - i - 2);
                int k = 0;
                while (k < inner.Length && (char.IsAsciiLetterOrDigit(inner[k]) || inner[k] == '_')) k++;
                name = inner[..k];
                if (k < inner.Length && (inner[k] == '?' || inner[k] == ':'))
                {
                    op = inner[k].ToString();
                    arg = inner[(k + 1)..];
                    if (arg.Length >= 2 && arg[0] == '{' && arg[^1] == '}' && SplitTernary(arg) is null) arg = arg[1..^1];
                }
                i = j;
            }
            else
            {
                int j = i + 1;
                while (j < text.Length && (char.IsAsciiLetterOrDigit(text[j]) || text[j] == '_')) j++;
                if (j == i + 1) { sb.Append(c); continue; }
                name = text.Substring(i + 1, j - i - 1);
                i = j - 1;
            }
            string value;
            if (active.Contains(name)) value = ""; // recursion: Postfix reports it; we expand to empty
            else
            {
                active.Add(name);
                value = Expand(GetRaw(name) ?? "", active);
                active.Remove(name);
            }
            if (op == "?" && SplitTernary(arg!) is var (whenSet, whenEmpty))
                sb.Append(Expand(value.Length > 0 ? whenSet : whenEmpty, active));
            else if (op == "?") sb.Append(value.Length > 0 ? Expand(arg!, active) : "");
            else if (op == ":") sb.Append(value.Length == 0 ? Expand(arg!, active) : "");
            else sb.Append(value);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The Postfix 3.0 form "${name?{value1}:{value2}}" (postconf(5)): arg is "{value1}:{value2}", each part
    /// braced; returns the two parts, or null when arg is not of that form.
    /// </summary>
    private static (string WhenSet, string WhenEmpty)? SplitTernary(string arg)
    {
        if (arg.Length < 5 || arg[0] != '{' || arg[^1] != '}') return null;
        int depth = 0, end = -1;
        for (int i = 0; i < arg.Length; i++)
        {
            if (arg[i] == '{') depth++;
            else if (arg[i] == '}' && --depth == 0) { end = i; break; }
        }
        if (end < 0) return null;
        var rest = arg[(end + 1)..].TrimStart();
        if (rest.Length < 3 || rest[0] != ':') return null;
        rest = rest[1..].TrimStart();
        if (rest[0] != '{') return null;
        return (arg[1..end].Trim(), rest[1..^1].Trim());
    }

    /// <summary>The same parameters with stress = yes: the values a session gets when its service is at its process limit.</summary>
    public Parameters UnderStress() => With("stress", "yes");

    public bool GetBool(string name) => TryParseBool(Get(name), out var b) && b;

    public int GetInt(string name)
        => int.TryParse(Get(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
           : int.TryParse(ExpandText(DefaultRaw(name)), out v) ? v : 0;

    public long GetSize(string name)
        => long.TryParse(Get(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    public TimeSpan GetTime(string name)
    {
        char unit = ParameterTable.TryGet(name, out var def) ? def.TimeUnit : 's';
        return TryParseTime(Get(name), unit, out var t) ? t
             : TryParseTime(ExpandText(DefaultRaw(name)), unit, out t) ? t : TimeSpan.Zero;
    }

    public IReadOnlyList<string> GetList(string name) => SplitList(Get(name));

    public static bool TryParseBool(string s, out bool value)
    {
        switch (s.Trim().ToLowerInvariant())
        {
            case "yes": case "true": case "1": value = true; return true;
            case "no": case "false": case "0": value = false; return true;
            default: value = false; return false;
        }
    }

    /// <summary>Postfix time values: a number with an optional unit s, m, h, d or w ("300s", "5d").</summary>
    public static bool TryParseTime(string s, char defaultUnit, out TimeSpan value)
    {
        value = default;
        s = s.Trim();
        if (s.Length == 0) return false;
        char unit = defaultUnit;
        var num = s;
        if (char.IsAsciiLetter(s[^1])) { unit = char.ToLowerInvariant(s[^1]); num = s[..^1]; }
        if (!long.TryParse(num, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        switch (unit)
        {
            case 's': value = TimeSpan.FromSeconds(n); return true;
            case 'm': value = TimeSpan.FromMinutes(n); return true;
            case 'h': value = TimeSpan.FromHours(n); return true;
            case 'd': value = TimeSpan.FromDays(n); return true;
            case 'w': value = TimeSpan.FromDays(7 * n); return true;
            default: return false;
        }
    }

    /// <summary>
    /// Splits a list on commas and/or white space; "{ ... }" groups stay one element (with the braces
    /// removed when the whole element is braced, kept when they follow a prefix such as "inline:{...}").
    /// </summary>
    public static IReadOnlyList<string> SplitList(string value)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        int depth = 0;
        foreach (var c in value)
        {
            if (c == '{') depth++;
            else if (c == '}' && depth > 0) depth--;
            if (depth == 0 && (c == ',' || char.IsWhiteSpace(c)))
            {
                if (sb.Length > 0) { result.Add(Unbrace(sb.ToString())); sb.Clear(); }
                continue;
            }
            sb.Append(c);
        }
        if (sb.Length > 0) result.Add(Unbrace(sb.ToString()));
        return result;
    }

    private static string Unbrace(string s)
        => s.Length >= 2 && s[0] == '{' && s[^1] == '}' ? s[1..^1].Trim() : s;
}
