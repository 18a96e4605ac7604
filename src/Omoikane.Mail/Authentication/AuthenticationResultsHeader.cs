using System.Text;
using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Authentication.Dmarc;
using Omoikane.Mail.Authentication.Spf;

namespace Omoikane.Mail.Authentication;

/// <summary>Writes and recognises Authentication-Results header fields (RFC 8601).</summary>
public static class AuthenticationResultsHeader
{
    public const string Name = "Authentication-Results";

    /// <summary>
    /// "Authentication-Results: myhostname;\n\tspf=pass smtp.mailfrom=a@b;\n\tdkim=pass header.d=b header.s=s;\n\tdmarc=pass header.from=b\n"
    /// (RFC 8601 §2.2; one resinfo per method and one per DKIM signature).
    /// </summary>
    public static string Format(string authServId, SpfOutcome spf, IReadOnlyList<DkimOutcome> dkim, DmarcOutcome? dmarc)
    {
        var parts = new List<string>();
        parts.Add(spf.FromHelo
            ? $"spf={spf.ResultText} smtp.helo={Value(spf.Domain)}"
            : $"spf={spf.ResultText} smtp.mailfrom={Value(spf.Identity)}");
        if (dkim.Count == 0) parts.Add("dkim=none");
        foreach (var d in dkim)
        {
            var sb = new StringBuilder($"dkim={d.ResultText}");
            if (d.Result != DkimResult.Pass && d.Reason.Length > 0) sb.Append(" (").Append(Comment(d.Reason)).Append(')');
            if (d.Domain.Length > 0) sb.Append(" header.d=").Append(Value(d.Domain));
            if (d.Selector.Length > 0) sb.Append(" header.s=").Append(Value(d.Selector));
            if (d.Algorithm.Length > 0) sb.Append(" header.a=").Append(Value(d.Algorithm));
            parts.Add(sb.ToString());
        }
        if (dmarc is not null)
        {
            var sb = new StringBuilder($"dmarc={dmarc.ResultText}");
            if (dmarc.Policy is { } p) sb.Append(" (p=").Append(p.ToString().ToLowerInvariant()).Append(" dis=").Append(dmarc.Disposition.ToString().ToLowerInvariant()).Append(')');
            if (dmarc.FromDomain.Length > 0) sb.Append(" header.from=").Append(Value(dmarc.FromDomain));
            parts.Add(sb.ToString());
        }
        return $"{Name}: {authServId};\n\t" + string.Join(";\n\t", parts) + "\n";
    }

    /// <summary>A token as is; anything with specials as a quoted-string (RFC 8601 §2.2 pvalue, RFC 2045 value).</summary>
    private static string Value(string v)
    {
        if (v.Length > 0 && v.All(c => c > ' ' && c < 127 && "()<>,;:\\\"[]?=".IndexOf(c) < 0)) return v;
        return "\"" + v.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }

    private static string Comment(string text)
        => new(text.Where(c => c >= ' ' && c < 127 && c != '(' && c != ')' && c != '\\').Take(120).ToArray());

    /// <summary>
    /// The authserv-id of an Authentication-Results field value (RFC 8601 §2.2): the first token after any
    /// comments and white space; null when there is none.
    /// </summary>
    public static string? AuthServIdOf(string value)
    {
        int i = 0, depth = 0;
        while (i < value.Length)
        {
            var c = value[i];
            if (c == '(') depth++;
            else if (c == ')' && depth > 0) depth--;
            else if (depth == 0 && !char.IsWhiteSpace(c)) break;
            i++;
        }
        int start = i;
        while (i < value.Length && !char.IsWhiteSpace(value[i]) && value[i] != ';' && value[i] != '(') i++;
        if (i == start) return null;
        var id = value[start..i];
        return id.Length > 1 && id[0] == '"' && id[^1] == '"' ? id[1..^1] : id;
    }

    /// <summary>True when the field claims our authserv-id, so it can only be forged (RFC 8601 §5).</summary>
    public static bool ClaimsOurId(string value, string authServId)
        => string.Equals(AuthServIdOf(value)?.TrimEnd('.'), authServId.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);
}
