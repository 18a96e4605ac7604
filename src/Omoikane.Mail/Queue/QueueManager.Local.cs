using Omoikane.Mail.Delivery;
using Omoikane.Mail.Delivery.Local;
using Omoikane.Mail.Delivery.Maildir;
using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Queue;

/// <summary>Local delivery to what aliases name besides users: commands, files and Maildir directories; size limits.</summary>
public sealed partial class QueueManager
{
    /// <summary>
    /// The bounce text when a Maildir message file would exceed mailbox_size_limit or virtual_mailbox_limit
    /// (Postfix limits the size of the file it writes: "error writing message: File too large"), else null.
    /// </summary>
    private string? MaildirTooBig(string prefix, QueueMessageFile msg)
    {
        var size = System.Text.Encoding.UTF8.GetByteCount(prefix) + msg.ContentLength;
        foreach (var limit in new[] { _options.MailboxSizeLimit, _options.VirtualMailboxLimit })
            if (limit > 0 && size > limit) return "maildir delivery failed: error writing message: File too large";
        return null;
    }

    /// <summary>Delivers to an alias "|command", "/file" or "/directory/" (a Maildir) and logs the result.</summary>
    private async Task<LocalResult> DeliverToCommandOrFileAsync(LogSession agent, QueueMessageFile msg, ResolvedTarget target, QueueRecipient rcpt, string key,
        DateTimeOffset started, CancellationToken ct)
    {
        var sw = _time.GetTimestamp();
        var original = rcpt.Original ?? rcpt.Address;
        LocalResult result;
        string address;
        switch (target)
        {
            case ResolvedTarget.Command c:
                address = c.Address;
                result = await CommandDelivery.RunAsync(c.CommandLine, LocalCopy.Build(msg, c.Address, original, _time.GetUtcNow(), mbox: false),
                    CommandEnvironment(msg.Envelope, c.Address, original), _options.CommandTimeLimit, ct).ConfigureAwait(false);
                break;
            case ResolvedTarget.File { Path: var path } f when path.EndsWith('/'):
                address = f.Address;
                var prefix = $"Return-Path: <{msg.Envelope.Sender}>\nDelivered-To: {f.Address}\n";
                if (MaildirTooBig(prefix, msg) is { } tooBig) { result = LocalResult.Bounce("5.2.2", tooBig); break; }
                try
                {
                    await _maildir.DeliverAsync(path.TrimEnd('/'), prefix, msg, key, ct).ConfigureAwait(false);
                    result = LocalResult.Sent($"delivered to maildir {path}");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    result = LocalResult.Defer("4.2.0", $"maildir delivery failed: {ex.Message}");
                }
                break;
            case ResolvedTarget.File f:
                address = f.Address;
                result = await MboxFileDelivery.AppendAsync(f.Path, LocalCopy.Build(msg, f.Address, original, _time.GetUtcNow(), mbox: true),
                    _options.MailboxSizeLimit, ct).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException("not a command or file target", nameof(target));
        }
        var status = result.Status switch { DeliveryStatus.Sent => "sent", DeliveryStatus.Bounced => "bounced", _ => "deferred" };
        LogDelivery(agent, msg, new QueueRecipient(address, original != address ? original : null), "local", result.Dsn, status, result.Text,
            started, _time.GetElapsedTime(sw));
        return result;
    }

    /// <summary>The environment local(8) gives a command (clean: nothing inherited but TZ).</summary>
    private static Dictionary<string, string> CommandEnvironment(QueueEnvelope env, string recipient, string original)
    {
        var user = Environment.UserName;
        var home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : "/";
        var at = recipient.LastIndexOf('@');
        var local = at < 0 ? recipient : recipient[..at];
        var plus = local.IndexOf('+');
        var e = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["HOME"] = home, ["LOGNAME"] = user, ["USER"] = user, ["SHELL"] = "/bin/sh",
            ["PATH"] = "/usr/bin:/bin", ["SENDER"] = env.Sender, ["RECIPIENT"] = recipient,
            ["ORIGINAL_RECIPIENT"] = original, ["LOCAL"] = local, ["DOMAIN"] = at < 0 ? "" : recipient[(at + 1)..],
            ["EXTENSION"] = plus < 0 ? "" : local[(plus + 1)..],
            ["CLIENT_PROTOCOL"] = env.Protocol,
        };
        if (Environment.GetEnvironmentVariable("TZ") is { } tz) e["TZ"] = tz;
        // "name[ip]" as logged: CLIENT_HOSTNAME and CLIENT_ADDRESS.
        var open = env.Client.IndexOf('[');
        if (open > 0 && env.Client.EndsWith(']'))
        {
            e["CLIENT_HOSTNAME"] = env.Client[..open];
            e["CLIENT_ADDRESS"] = env.Client[(open + 1)..^1];
        }
        if (env.Helo is not null) e["CLIENT_HELO"] = env.Helo;
        if (env.SaslMethod is not null) e["SASL_METHOD"] = env.SaslMethod;
        if (env.SaslUsername is not null) e["SASL_USERNAME"] = env.SaslUsername;
        return e;
    }

    /// <summary>
    /// A recipient that transport_maps routes to "local:" is delivered to its mailbox here as if its domain were
    /// in mydestination (without alias expansion); unknown users bounce as local(8) does.
    /// </summary>
    private async Task<RecipientOutcome> DeliverHandedBackAsync(QueueMessageFile msg, QueueRecipient rcpt, CancellationToken ct)
    {
        var at = rcpt.Address.LastIndexOf('@');
        var local = at < 0 ? rcpt.Address : rcpt.Address[..at];
        var domain = at < 0 ? "" : rcpt.Address[(at + 1)..];
        string? user;
        try { user = _local.FindUser(local, domain); }
        catch (Exception ex) when (ex is Credentials.UserStoreException or IOException)
        {
            return new RecipientOutcome(rcpt, DeliveryStatus.Deferred, "4.3.0", "local", "user lookup failed");
        }
        if (user is null)
            return new RecipientOutcome(rcpt, DeliveryStatus.Bounced, "5.1.1", "local", $"unknown user: \"{rcpt.Address}\"");
        var mailbox = _maildir.MailboxPath(user[(user.LastIndexOf('@') + 1)..], user[..user.LastIndexOf('@')]);
        var prefix = $"Return-Path: <{msg.Envelope.Sender}>\nDelivered-To: {rcpt.Address}\n";
        if (MaildirTooBig(prefix, msg) is { } tooBig)
            return new RecipientOutcome(rcpt, DeliveryStatus.Bounced, "5.2.2", "local", tooBig);
        var sw = _time.GetTimestamp();
        try
        {
            await _maildir.DeliverAsync(mailbox, prefix, msg, $"{msg.Id}R{IndexOf(msg.Envelope, rcpt)}", ct).ConfigureAwait(false);
            return new RecipientOutcome(rcpt, DeliveryStatus.Sent, "2.0.0", "local", "delivered to maildir", default, _time.GetElapsedTime(sw));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new RecipientOutcome(rcpt, DeliveryStatus.Deferred, "4.2.0", "local", $"maildir delivery failed: {ex.Message}");
        }
    }
}
