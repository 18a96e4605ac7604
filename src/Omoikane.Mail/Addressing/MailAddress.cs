using System.Text;

namespace Omoikane.Mail.Addressing;

/// <summary>
/// An envelope address (RFC 5321 §4.1.2 Mailbox). LocalPart is the unquoted content: for
/// "\"a@b\"@example.com" it is "a@b". Domain is as given (a name, or an address literal with its brackets);
/// empty for the null reverse-path "&lt;&gt;" and for the bare "postmaster" recipient (RFC 5321 §4.5.1).
/// </summary>
public sealed record MailAddress(string LocalPart, string Domain, string? SourceRoute = null)
{
    public static readonly MailAddress Null = new("", "");

    public bool IsNull => LocalPart.Length == 0 && Domain.Length == 0;

    public bool IsDomainLiteral => Domain.StartsWith('[');

    /// <summary>True when the local part needed quoting on the wire.</summary>
    public bool LocalPartNeedsQuoting => !IsDotAtom(LocalPart);

    /// <summary>True when the local part contains sender-specified routing (user@x, user%x, user!x) — Postfix's relay trap.</summary>
    public bool HasRoutingOperators => LocalPart.IndexOfAny(['@', '%', '!']) >= 0;

    /// <summary>The domain's canonical form without a trailing dot (<see cref="AddressKey.Domain"/>), for comparisons and table lookups.</summary>
    public string DomainKey => AddressKey.Domain(Domain);

    /// <summary>The local part's canonical form (<see cref="AddressKey.Local"/>).</summary>
    public string LocalKey => AddressKey.Local(LocalPart);

    /// <summary>The address as Postfix prints it in logs and headers (local part quoted only if needed).</summary>
    public override string ToString()
    {
        if (IsNull) return "";
        var local = LocalPartNeedsQuoting ? Quote(LocalPart) : LocalPart;
        return Domain.Length == 0 ? local : local + "@" + Domain;
    }

    public static string Quote(string local)
    {
        var sb = new StringBuilder(local.Length + 2).Append('"');
        foreach (var c in local)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    public static bool IsDotAtom(string s)
    {
        if (s.Length == 0 || s[0] == '.' || s[^1] == '.') return false;
        for (int i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '.') { if (s[i - 1] == '.') return false; continue; }
            if (!IsAtext(c)) return false;
        }
        return true;
    }

    /// <summary>RFC 5322 atext, extended with non-ASCII for SMTPUTF8 (RFC 6531 §3.3).</summary>
    public static bool IsAtext(char c)
        => char.IsAsciiLetterOrDigit(c) || c >= 0x80 || "!#$%&'*+-/=?^_`{|}~".IndexOf(c) >= 0;
}
