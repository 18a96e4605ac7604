namespace Omoikane.Mail.Authentication.Dmarc;

/// <summary>A parsed DMARC record (RFC 7489 §6.3): policy, subdomain policy, percentage and alignment modes.</summary>
public sealed record DmarcRecord(DmarcPolicy Policy, DmarcPolicy? SubdomainPolicy, int Percent, bool StrictDkim, bool StrictSpf)
{
    /// <summary>True when the text starts with the v=DMARC1 tag (RFC 7489 §6.4: it must come first).</summary>
    public static bool IsDmarcRecord(string text)
    {
        var semi = text.IndexOf(';');
        var first = (semi < 0 ? text : text[..semi]).Replace(" ", "").Replace("\t", "");
        return first == "v=DMARC1";
    }

    /// <summary>
    /// Parses a record; null when it is not usable. A missing or unknown p= makes the record p=none when
    /// it has a rua= tag and unusable otherwise (RFC 7489 §6.6.3 step 6).
    /// </summary>
    public static DmarcRecord? Parse(string text)
    {
        if (!IsDmarcRecord(text)) return null;
        var tags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(';'))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) continue;
            tags.TryAdd(part[..eq].Trim(), part[(eq + 1)..].Trim());
        }
        var p = ParsePolicy(tags.GetValueOrDefault("p"));
        if (p is null)
        {
            if (!tags.ContainsKey("rua")) return null;
            p = DmarcPolicy.None;
        }
        var sp = ParsePolicy(tags.GetValueOrDefault("sp"));
        var pct = 100;
        if (tags.TryGetValue("pct", out var pctText) && int.TryParse(pctText, out var n) && n is >= 0 and <= 100) pct = n;
        return new DmarcRecord(p.Value, sp, pct,
            string.Equals(tags.GetValueOrDefault("adkim"), "s", StringComparison.OrdinalIgnoreCase),
            string.Equals(tags.GetValueOrDefault("aspf"), "s", StringComparison.OrdinalIgnoreCase));
    }

    private static DmarcPolicy? ParsePolicy(string? value) => value?.ToLowerInvariant() switch
    {
        "none" => DmarcPolicy.None,
        "quarantine" => DmarcPolicy.Quarantine,
        "reject" => DmarcPolicy.Reject,
        _ => null,
    };
}
