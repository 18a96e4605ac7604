namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>Reads tag=value lists (RFC 6376 §3.2) of DKIM-Signature headers and key records.</summary>
public static class DkimTags
{
    public static Dictionary<string, string> Parse(string value)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in value.Split(';'))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) continue;
            var name = part[..eq].Trim();
            var v = string.Concat(part[(eq + 1)..].Where(c => !char.IsWhiteSpace(c)));
            tags.TryAdd(name, v);
        }
        return tags;
    }
}
