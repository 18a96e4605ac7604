using System.Globalization;
using System.Text;
using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Delivery;

/// <summary>
/// Builds a non-delivery report (RFC 3464 multipart/report; report-type=delivery-status) with Postfix's
/// wording, to be queued to the original sender from MAILER-DAEMON (null envelope sender, RFC 5321 §4.5.5).
/// </summary>
public static class BounceBuilder
{
    public static string Build(string myhostname, string mailName, QueueEnvelope original, IReadOnlyList<RecipientOutcome> failed,
        string originalHeaders, DateTimeOffset now, bool delayWarning = false)
    {
        var boundary = $"{original.QueueId}.{now.ToUnixTimeSeconds()}/{myhostname}";
        var date = now.ToString("ddd, d MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) + now.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "");
        var sb = new StringBuilder();
        sb.Append("Date: ").Append(date).Append('\n');
        sb.Append("From: MAILER-DAEMON@").Append(myhostname).Append(" (Mail Delivery System)\n");
        sb.Append("Subject: ").Append(delayWarning ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender").Append('\n');
        sb.Append("To: ").Append(original.Sender).Append('\n');
        sb.Append("Auto-Submitted: auto-replied\n");
        sb.Append("Message-ID: <").Append(original.QueueId).Append('.').Append(now.ToUnixTimeMilliseconds()).Append("@").Append(myhostname).Append(">\n");
        sb.Append("MIME-Version: 1.0\n");
        sb.Append("Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"").Append(boundary).Append("\"\n");
        sb.Append("Content-Transfer-Encoding: 8bit\n\n");
        sb.Append("This is a MIME-encapsulated message.\n\n");
        sb.Append("--").Append(boundary).Append('\n');
        sb.Append("Content-Description: Notification\nContent-Type: text/plain; charset=utf-8\n\n");
        sb.Append("This is the mail system at host ").Append(myhostname).Append(".\n\n");
        if (delayWarning)
            sb.Append("####################################################################\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n####################################################################\n\nYour message could not be delivered for some time. It will be retried.\n\n");
        else
            sb.Append("I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients. It's attached below.\n\n")
              .Append("For further assistance, please send mail to postmaster.\n\n")
              .Append("If you do so, please include this problem report. You can\ndelete your own text from the attached returned message.\n\n")
              .Append("                   The mail system\n\n");
        foreach (var f in failed)
            sb.Append('<').Append(f.Recipient.Original ?? f.Recipient.Address).Append(">: ").Append(f.Text).Append("\n\n");
        sb.Append("--").Append(boundary).Append('\n');
        sb.Append("Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n");
        sb.Append("Reporting-MTA: dns; ").Append(myhostname).Append('\n');
        sb.Append("X-Postfix-Queue-ID: ").Append(original.QueueId).Append('\n');
        sb.Append("X-Postfix-Sender: rfc822; ").Append(original.Sender).Append('\n');
        sb.Append("Arrival-Date: ").Append(original.Arrival.ToString("ddd, d MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture))
          .Append(original.Arrival.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "")).Append('\n');
        foreach (var f in failed)
        {
            sb.Append('\n');
            sb.Append("Final-Recipient: rfc822; ").Append(f.Recipient.Address).Append('\n');
            if (f.Recipient.Original is not null && f.Recipient.Original != f.Recipient.Address)
                sb.Append("Original-Recipient: rfc822; ").Append(f.Recipient.Original).Append('\n');
            sb.Append("Action: ").Append(delayWarning ? "delayed" : "failed").Append('\n');
            sb.Append("Status: ").Append(f.Dsn).Append('\n');
            if (f.Relay is not ("local" or "none" or "virtual"))
                sb.Append("Remote-MTA: dns; ").Append(f.Relay.Split('[')[0]).Append('\n');
            sb.Append("Diagnostic-Code: ").Append(f.Text.StartsWith("host ", StringComparison.Ordinal) ? "smtp; " : "x-unix; ").Append(f.Text).Append('\n');
        }
        sb.Append('\n');
        sb.Append("--").Append(boundary).Append('\n');
        sb.Append("Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\nContent-Transfer-Encoding: 8bit\n\n");
        sb.Append(originalHeaders.TrimEnd('\n')).Append("\n\n");
        sb.Append("--").Append(boundary).Append("--\n");
        return sb.ToString();
    }
}
