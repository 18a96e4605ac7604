namespace Omoikane.Mail.Authentication;

/// <summary>
/// The organizational domain of RFC 7489 §3.2, approximated without the Public Suffix List: the last two
/// labels, or the last three when the last two are a well-known two-label public suffix (co.uk, com.au, ...).
/// Documented in docs/authentication.md; a domain under an unlisted multi-label suffix gets a too-short
/// organizational domain, which only makes relaxed alignment and the fallback record lookup too generous.
/// </summary>
public static class OrganizationalDomain
{
    private static readonly HashSet<string> TwoLabelSuffixes = new(StringComparer.OrdinalIgnoreCase)
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk", "nhs.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au", "asn.au",
        "co.nz", "net.nz", "org.nz", "govt.nz", "ac.nz", "school.nz", "geek.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp",
        "co.kr", "or.kr", "ne.kr", "ac.kr", "go.kr",
        "com.br", "net.br", "org.br", "gov.br", "edu.br",
        "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn",
        "com.tw", "net.tw", "org.tw", "edu.tw", "gov.tw",
        "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk",
        "com.sg", "net.sg", "org.sg", "edu.sg", "gov.sg",
        "co.in", "net.in", "org.in", "ac.in", "gov.in", "firm.in",
        "co.za", "org.za", "net.za", "gov.za", "ac.za",
        "com.mx", "org.mx", "gob.mx", "net.mx", "edu.mx",
        "com.ar", "net.ar", "org.ar", "gob.ar",
        "com.tr", "net.tr", "org.tr", "gov.tr", "edu.tr",
        "co.il", "org.il", "net.il", "ac.il", "gov.il",
        "com.my", "net.my", "org.my", "gov.my", "edu.my",
        "co.th", "in.th", "ac.th", "go.th", "or.th",
        "com.ua", "net.ua", "org.ua", "gov.ua",
        "com.pl", "net.pl", "org.pl",
        "co.id", "or.id", "ac.id", "go.id", "web.id",
        "com.ph", "net.ph", "org.ph", "gov.ph",
        "com.vn", "net.vn", "org.vn", "gov.vn",
        "com.eg", "com.sa", "com.pk", "com.ng", "com.co", "com.pe", "com.ve", "com.ec", "com.uy",
    };

    public static string Of(string domain)
    {
        var d = domain.TrimEnd('.').ToLowerInvariant();
        var labels = d.Split('.');
        if (labels.Length <= 2) return d;
        var lastTwo = labels[^2] + "." + labels[^1];
        var take = TwoLabelSuffixes.Contains(lastTwo) ? 3 : 2;
        return string.Join('.', labels[^Math.Min(take, labels.Length)..]);
    }

    /// <summary>Identifier alignment (RFC 7489 §3.1): equal in strict mode, same organizational domain in relaxed.</summary>
    public static bool Aligned(string a, string b, bool strict)
    {
        a = a.TrimEnd('.'); b = b.TrimEnd('.');
        return strict ? string.Equals(a, b, StringComparison.OrdinalIgnoreCase) : string.Equals(Of(a), Of(b), StringComparison.Ordinal);
    }
}
