using System.Globalization;
using System.Text;
using Omoikane.Mail.Pickup;
using Omoikane.Mail.Queue;
using Omoikane.Server.Smtp;

namespace Omoikane.Server.Pickup;

public sealed partial class PickupService
{
    private const int ENOENT = 2;

    /// <summary>Validates one maildrop file and queues its message; false when it was gone or moved aside.</summary>
    private async Task<bool> PickUpAsync(string name, CancellationToken ct)
    {
        var options = _currentOptions();
        var path = Path.Combine(Directory, name);
        if (UnixFiles.LStat(path) is not { } entry) return false; // taken meanwhile
        if (!entry.IsRegular) return Quarantine(name, "not a regular file");
        if (entry.Links != 1) return Quarantine(name, "file has more than one link");
        var limit = options.MessageSizeLimit > 0 ? options.MessageSizeLimit : long.MaxValue - MaildropFile.EnvelopeAllowance;
        if (entry.Size > (ulong)(limit + MaildropFile.EnvelopeAllowance)) return Quarantine(name, $"uid={entry.Uid}: message file too big");

        byte[] data;
        uint uid;
        using (var handle = UnixFiles.OpenNoFollow(path, out var errno))
        {
            if (handle is null) return errno == ENOENT ? false : Quarantine(name, $"cannot open (errno {errno})");
            // The file opened must be the one examined: not swapped for a link, a FIFO or another user's file.
            if (UnixFiles.FStat(handle) is not { } opened || !opened.SameFile(entry) || !opened.IsRegular || opened.Links != 1)
                return Quarantine(name, "file changed while it was opened");
            uid = opened.Uid;
            using var fs = new FileStream(handle, FileAccess.Read, 0);
            data = new byte[(int)Math.Min((long)opened.Size + 1, limit + MaildropFile.EnvelopeAllowance + 1)];
            int read = 0, n;
            while (read < data.Length && (n = fs.Read(data, read, data.Length - read)) > 0) read += n;
            if (read != (long)opened.Size) return Quarantine(name, $"uid={uid}: file size changed while it was read");
            Array.Resize(ref data, read);
        }

        var drop = MaildropFile.TryParse(data, out var error);
        if (drop is null) return Quarantine(name, $"uid={uid}: {error}");
        if (drop.Content.Length > limit) return Quarantine(name, $"uid={uid}: message file too big");
        if (UnixFiles.PasswdEntry(uid) is not { } user) return Quarantine(name, $"uid={uid}: no passwd entry for this user id");
        string sender;
        if (drop.Sender is null) sender = user.Name + "@" + options.MyOrigin;
        else if (drop.Sender is "<>") sender = "";
        else if (MaildropFile.Qualify(drop.Sender, options.MyOrigin) is { } s) sender = s;
        else return Quarantine(name, $"uid={uid}: bad sender address syntax");
        var recipients = new List<QueueRecipient>();
        foreach (var r in drop.Recipients)
        {
            if (MaildropFile.Qualify(r, options.MyOrigin) is not { } q) return Quarantine(name, $"uid={uid}: bad recipient address syntax");
            if (!recipients.Any(x => Mail.Addressing.AddressKey.Comparer.Equals(x.Address, q))) recipients.Add(new QueueRecipient(q));
        }

        var now = _time.GetUtcNow();
        var smtpUtf8 = sender.Any(c => c > 127) || recipients.Any(r => r.Address.Any(c => c > 127));
        var writer = _spool.Create(qid => new QueueEnvelope
        {
            QueueId = qid, Arrival = now, Sender = sender, Recipients = recipients,
            Client = "local", Protocol = "local", SmtpUtf8 = smtpUtf8,
        }, _time);
        string? messageId;
        await using (writer)
        {
            _session!.Info("pickup", $"{writer.Id}: uid={uid} from=<{drop.Sender ?? user.Name}>");
            var content = BuildContent(options, drop, writer.Id, uid, user, out messageId);
            await writer.Content.WriteAsync(content, ct).ConfigureAwait(false);
            await writer.CommitAsync(ct).ConfigureAwait(false);
        }
        using (var cleanup = _log.BeginSession()) cleanup.Info("cleanup", $"{writer.Id}: message-id={messageId}");
        // The queue file is durable (CommitAsync waited for the flush): only now does the maildrop copy go.
        File.Delete(path);
        _enqueue(writer.Committed());
        return true;
    }

    /// <summary>
    /// The message as queued: a Received line naming the local user, the fields as submitted without Bcc,
    /// and the From, Date and Message-ID a local submission gets when it has none (Postfix's cleanup).
    /// </summary>
    private byte[] BuildContent(PickupOptions options, MaildropFile drop, string queueId, uint uid, (string Name, string FullName) user, out string messageId)
    {
        var content = drop.Content.Span;
        var header = MessageHeader.Parse(content);
        var date = SmtpSession.Rfc5322Date(_time.GetLocalNow());
        var head = new StringBuilder();
        head.Append("Received: by ").Append(options.MyHostname).Append(" (").Append(options.MailName)
            .Append(", from userid ").Append(uid.ToString(CultureInfo.InvariantCulture)).Append(")\n\tid ").Append(queueId)
            .Append("; ").Append(date).Append('\n');
        var tail = new StringBuilder();
        if (!header.Has("From"))
        {
            var fullName = drop.FullName ?? user.FullName;
            var from = user.Name + "@" + options.MyOrigin;
            tail.Append("From: ");
            if (fullName.Length > 0) tail.Append(MimeKit.Utils.MimeUtils.Quote(fullName)).Append(" <").Append(from).Append(">\n");
            else tail.Append(from).Append('\n');
        }
        if (!header.Has("Date")) tail.Append("Date: ").Append(date).Append('\n');
        var idField = header.Fields.FirstOrDefault(f => f.Name.Equals("Message-ID", StringComparison.OrdinalIgnoreCase));
        if (idField is null)
        {
            messageId = $"<{_time.GetUtcNow().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}.{queueId}@{options.MyHostname}>";
            tail.Append("Message-ID: ").Append(messageId).Append('\n');
        }
        else messageId = MessageHeader.Value(idField.Raw);

        using var ms = new MemoryStream(content.Length + 512);
        ms.Write(Encoding.UTF8.GetBytes(head.ToString()));
        foreach (var f in header.Fields)
            if (!f.Name.Equals("Bcc", StringComparison.OrdinalIgnoreCase)) WriteLf(ms, content.Slice(f.Start, f.Length));
        ms.Write(Encoding.UTF8.GetBytes(tail.ToString()));
        ms.WriteByte((byte)'\n');
        var body = content[header.BodyStart..];
        WriteLf(ms, body);
        return ms.ToArray();
    }

    /// <summary>Copies text with CR LF line ends made LF (the queue's form).</summary>
    private static void WriteLf(Stream s, ReadOnlySpan<byte> text)
    {
        while (text.Length > 0)
        {
            var i = text.IndexOf("\r\n"u8);
            if (i < 0) { s.Write(text); return; }
            s.Write(text[..i]);
            s.WriteByte((byte)'\n');
            text = text[(i + 2)..];
        }
    }

    /// <summary>Moves a maildrop file that cannot be queued to corrupt/ (never deletes it) and logs why.</summary>
    private bool Quarantine(string name, string reason)
    {
        var target = "maildrop." + name;
        try
        {
            File.Move(Path.Combine(Directory, name), Path.Combine(_spool.CorruptDir, target), overwrite: true);
            _session!.Warning("pickup", $"maildrop/{name}: {reason}; moved to corrupt/{target}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _session!.Warning("pickup", $"maildrop/{name}: {reason}; cannot move it aside: {ex.Message}");
        }
        return false;
    }
}
