namespace Omoikane.Mail.Policy;

/// <summary>
/// A non-final event worth a maillog line, as Postfix's log_whatsup writes it: Action is "warn",
/// "reject_warning", "info", "hold", "discard", "filter", "redirect", "bcc", "prepend" or "hangup";
/// Text is the part after the client ("554 5.7.1 ...", or the WARN text).
/// </summary>
public sealed record PolicyLogEntry(string Action, string Text)
{
    /// <summary>
    /// "NOQUEUE: warn: RCPT from unknown[192.0.2.1]: text; from=&lt;a@b&gt; to=&lt;c@d&gt; proto=ESMTP helo=&lt;h&gt;"
    /// (smtpd_check.c log_whatsup). Where is CONNECT, EHLO, HELO, MAIL, RCPT, DATA or END-OF-MESSAGE.
    /// </summary>
    public string Format(PolicyContext context, string where) => Action.Length == 0 ? Text : FormatLine(context, Action, where, Text);

    /// <summary>A line logged as it is (Postfix's msg_info), not in the log_whatsup form.</summary>
    public static PolicyLogEntry Plain(string text) => new("", text);

    public static string FormatLine(PolicyContext context, string action, string where, string text)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(context.QueueId ?? "NOQUEUE").Append(": ").Append(action).Append(": ").Append(where)
          .Append(" from ").Append(context.NamAddr).Append(": ").Append(text).Append(';');
        if (context.Sender is { } s) sb.Append(" from=<").Append(s).Append('>');
        if (context.Recipient is { } r) sb.Append(" to=<").Append(r).Append('>');
        if (context.Protocol is { Length: > 0 } p) sb.Append(" proto=").Append(p);
        if (context.HeloName is { } h) sb.Append(" helo=<").Append(h).Append('>');
        if (context.SaslMethod is { Length: > 0 } m) sb.Append(" sasl_method=").Append(m);
        if (context.SaslUsername is { Length: > 0 } u) sb.Append(" sasl_username=").Append(u);
        return sb.ToString();
    }
}
