using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Policy;

/// <summary>
/// A parsed access(5) result (smtpd_check.c check_table_result): OK/RELAY, all-numeric (OK),
/// REJECT/DEFER/DEFER_IF_REJECT/DEFER_IF_PERMIT [enhanced] [text], "4NN/5NN [enhanced] text",
/// DUNNO, WARN/INFO text, HOLD/DISCARD/FILTER/REDIRECT/BCC/PREPEND/HANGUP, or a restriction list.
/// Enhanced is the RFC 3463 code given in the text, if any; Code is the NN code of a numeric result.
/// </summary>
public sealed record AccessResult(AccessAction Action, string Text, int Code = 0, string? Enhanced = null)
{
    public static AccessResult Parse(string value)
    {
        var v = value.Trim();
        int cmdLen = 0;
        while (cmdLen < v.Length && v[cmdLen] is not (' ' or '\t')) cmdLen++;
        var cmd = v[..cmdLen];
        var text = v[cmdLen..].TrimStart(' ', '\t');

        switch (cmd.ToUpperInvariant())
        {
            case "DUNNO": return new(AccessAction.Dunno, text);
            case "REJECT": return WithDsn(AccessAction.Reject, text);
            case "DEFER": return WithDsn(AccessAction.Defer, text);
            case "HANGUP": return new(AccessAction.Hangup, text);
            case "INFO": return new(AccessAction.Info, text);
            case "WARN": return new(AccessAction.Warn, text);
            case "FILTER": return new(AccessAction.Filter, text);
            case "HOLD": return new(AccessAction.Hold, text);
            case "DISCARD": return new(AccessAction.Discard, text);
            case "REDIRECT": return new(AccessAction.Redirect, text);
            case "BCC": return new(AccessAction.Bcc, text);
            case "DEFER_IF_PERMIT": return WithDsn(AccessAction.DeferIfPermit, text);
            case "DEFER_IF_REJECT": return WithDsn(AccessAction.DeferIfReject, text);
            case "PREPEND": return new(AccessAction.Prepend, text);
        }
        // All-numeric: OK (some out-of-band authentication uses a time stamp).
        if (v.Length > 0 && v.All(char.IsAsciiDigit)) return new(AccessAction.Ok, "");
        // "4NN text" / "5NN text": needs text after the code.
        if (cmdLen == 3 && text.Length > 0 && v[0] is '4' or '5' && char.IsAsciiDigit(v[1]) && char.IsAsciiDigit(v[2]))
        {
            var r = WithDsn(AccessAction.Code, text);
            return r with { Code = int.Parse(cmd) };
        }
        if (cmd.Equals("OK", StringComparison.OrdinalIgnoreCase) || cmd.Equals("RELAY", StringComparison.OrdinalIgnoreCase))
            return new(AccessAction.Ok, text);
        if (v.Contains(':')) return new(AccessAction.TableReference, v);
        return new(AccessAction.Restrictions, v);
    }

    /// <summary>Postfix dsn_split: a leading "X.Y.Z " in the text is the enhanced status code.</summary>
    private static AccessResult WithDsn(AccessAction action, string text)
    {
        var sp = text.IndexOfAny([' ', '\t']);
        var first = sp < 0 ? text : text[..sp];
        if (first.Length > 0 && SmtpReply.IsEnhanced(first))
            return new(action, sp < 0 ? "" : text[sp..].TrimStart(' ', '\t'), 0, first);
        return new(action, text);
    }
}
