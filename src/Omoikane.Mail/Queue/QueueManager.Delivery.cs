using System.Globalization;
using System.Text;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Queue;

/// <summary>The delivery log lines (Postfix's "to=&lt;...&gt;, relay=..., status=...") and the bounces of a delivery attempt.</summary>
public sealed partial class QueueManager
{
    private void LogDelivery(LogSession agent, QueueMessageFile msg, QueueRecipient rcpt, string relay, string dsn, string status, string text,
        DateTimeOffset started, TimeSpan transmission, TimeSpan setup = default, string? program = null)
    {
        var now = _time.GetUtcNow();
        var total = now - msg.Envelope.Arrival;
        var a = started - msg.Envelope.Arrival;
        if (a < TimeSpan.Zero) a = TimeSpan.Zero;
        var d = transmission;
        var b = total - a - setup - d;
        if (b < TimeSpan.Zero) b = TimeSpan.Zero;
        program ??= relay == "local" ? "local" : relay == "none" ? "qmgr" : "smtp";
        var orig = rcpt.Original is not null && !string.Equals(rcpt.Original, rcpt.Address, StringComparison.OrdinalIgnoreCase) ? $", orig_to=<{rcpt.Original}>" : "";
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{msg.Id}: to=<{rcpt.Address}>{orig}, relay={relay}, delay={Fmt(total)}, delays={Fmt(a)}/{Fmt(b)}/{Fmt(setup)}/{Fmt(d)}, dsn={dsn}, status={status} ({text})");
        // qmgr is one process (the process id); local and smtp are the delivery agent of this attempt.
        if (program == "qmgr") _log.Info(program, line); else agent.Info(program, line);
    }

    /// <summary>Postfix's delay format: up to two significant decimals, "0" for nothing.</summary>
    public static string Fmt(TimeSpan t)
    {
        var s = t.TotalSeconds;
        if (s < 0.005) return "0";
        if (s < 10) return s.ToString("0.##", CultureInfo.InvariantCulture);
        return s.ToString("0.#", CultureInfo.InvariantCulture);
    }

    /// <summary>Queues a DSN to the sender for the failed recipients; nothing for the null sender or a bounce.</summary>
    private async Task BounceAsync(LogSession agent, QueueMessageFile msg, IReadOnlyList<RecipientOutcome> failed, CancellationToken ct, bool delayWarning = false)
    {
        var env = msg.Envelope;
        if (env.Sender.Length == 0 || env.IsBounce)
        {
            foreach (var f in failed) agent.Info("bounce", $"{msg.Id}: sender is the null address; no notification for <{f.Recipient.Address}>");
            return;
        }
        var headers = ReadHeaders(msg);
        var body = BounceBuilder.Build(_options.MyHostname, _options.MailName, env, failed, headers, _time.GetUtcNow(), delayWarning);
        var now = _time.GetUtcNow();
        var writer = _spool.Create(qid => new QueueEnvelope
        {
            QueueId = qid, Arrival = now, Sender = "", Recipients = [new QueueRecipient(env.Sender)],
            Client = "local", Protocol = "local", IsBounce = true,
        }, _time);
        await using (writer)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            await writer.Content.WriteAsync(bytes, ct).ConfigureAwait(false);
            await writer.CommitAsync(ct).ConfigureAwait(false);
        }
        agent.Info("bounce", $"{msg.Id}: sender {(delayWarning ? "delay" : "non-delivery")} notification: {writer.Id}");
        Enqueue(writer.Id);
    }

    private static string ReadHeaders(QueueMessageFile msg)
    {
        using var fs = new FileStream(msg.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        fs.Seek(msg.ContentOffset, SeekOrigin.Begin);
        var len = (int)Math.Min(msg.ContentLength, 256 * 1024);
        var buf = new byte[len];
        fs.ReadExactly(buf, 0, len);
        var end = buf.AsSpan().IndexOf("\n\n"u8);
        return Encoding.UTF8.GetString(buf, 0, end < 0 ? len : end + 1);
    }
}
