using Omoikane.Mail.Config;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// inline:{ key=value, { key = text with spaces }, ... } (Postfix 3.0, DATABASE_README). Keys are
/// case-insensitive; white space around '=' inside a braced element is ignored.
/// </summary>
public static class InlineTable
{
    public static ILookupTable? Parse(string spec, ConfigDiagnostics diagnostics, string origin = "main.cf", int originLine = 0)
    {
        var body = spec[(spec.IndexOf(':') + 1)..].Trim();
        if (body.Length < 2 || body[0] != '{' || body[^1] != '}')
        {
            diagnostics.Error(origin, originLine, $"bad inline table \"{spec}\": write inline:{{ key=value, {{ key = text with spaces }} }}");
            return null;
        }
        var pairs = new List<KeyValuePair<string, string>>();
        bool ok = true;
        foreach (var element in Parameters.SplitList(body[1..^1]))
        {
            var eq = element.IndexOf('=');
            var key = eq < 0 ? "" : element[..eq].Trim();
            if (eq < 0 || key.Length == 0)
            {
                diagnostics.Error(origin, originLine, $"inline table \"{spec}\": element \"{element}\" must be key=value");
                ok = false;
                continue;
            }
            pairs.Add(new(key, element[(eq + 1)..].Trim()));
        }
        return ok ? TextHashTable.FromPairs(spec, pairs) : null;
    }
}
