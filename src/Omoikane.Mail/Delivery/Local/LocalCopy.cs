using System.Globalization;
using System.Text;
using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Delivery.Local;

/// <summary>What a command or file delivery did: delivered, to retry (4.x.x) or to bounce (5.x.x), with Postfix's text.</summary>
public sealed record LocalResult(DeliveryStatus Status, string Dsn, string Text)
{
    public static LocalResult Sent(string text) => new(DeliveryStatus.Sent, "2.0.0", text);
    public static LocalResult Defer(string dsn, string text) => new(DeliveryStatus.Deferred, dsn, text);
    public static LocalResult Bounce(string dsn, string text) => new(DeliveryStatus.Bounced, dsn, text);
}

/// <summary>
/// The copy of a message that local(8) hands to a command or appends to a file: a "From sender date" line
/// (MAILER-DAEMON for the null sender, the date as asctime(3) writes it), Return-Path, X-Original-To and
/// Delivered-To, then the content; for files, lines starting "From " are quoted as "&gt;From " and a blank
/// line ends the message (mbox, Postfix mail_copy).
/// </summary>
public static class LocalCopy
{
    public static byte[] Build(QueueMessageFile msg, string recipient, string? original, DateTimeOffset now, bool mbox)
    {
        var env = msg.Envelope;
        var sb = new StringBuilder();
        sb.Append("From ").Append(env.Sender.Length == 0 ? "MAILER-DAEMON" : env.Sender).Append("  ")
          .Append(now.ToLocalTime().ToString("ddd MMM ", CultureInfo.InvariantCulture))
          .Append(now.ToLocalTime().Day.ToString(CultureInfo.InvariantCulture).PadLeft(2))
          .Append(now.ToLocalTime().ToString(" HH:mm:ss yyyy", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("Return-Path: <").Append(env.Sender).Append(">\n");
        if (original is not null) sb.Append("X-Original-To: ").Append(original).Append('\n');
        sb.Append("Delivered-To: ").Append(recipient).Append('\n');
        var head = Encoding.UTF8.GetBytes(sb.ToString());
        var content = ReadContent(msg);
        using var output = new MemoryStream(head.Length + content.Length + 64);
        output.Write(head);
        if (!mbox) output.Write(content);
        else
        {
            int start = 0;
            while (start < content.Length)
            {
                var nl = Array.IndexOf(content, (byte)'\n', start);
                var end = nl < 0 ? content.Length : nl + 1;
                if (content.AsSpan(start, end - start).StartsWith("From "u8)) output.WriteByte((byte)'>');
                output.Write(content, start, end - start);
                start = end;
            }
            if (content.Length > 0 && content[^1] != '\n') output.WriteByte((byte)'\n');
            output.WriteByte((byte)'\n');
        }
        return output.ToArray();
    }

    /// <summary>The message content (LF line endings) from memory or from the queue file.</summary>
    public static byte[] ReadContent(QueueMessageFile msg)
    {
        if (msg.Content is { } c) return c.ToArray();
        using var fs = new FileStream(msg.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        fs.Seek(msg.ContentOffset, SeekOrigin.Begin);
        var buf = new byte[msg.ContentLength];
        fs.ReadExactly(buf);
        return buf;
    }
}
