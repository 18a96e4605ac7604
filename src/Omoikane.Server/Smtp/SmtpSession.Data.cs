using System.Buffers;
using System.Globalization;
using System.Text;
using System.IO.Pipelines;
using Omoikane.Mail.Queue;
using Omoikane.Mail.Smtp;

namespace Omoikane.Server.Smtp;

public sealed partial class SmtpSession
{
    private async Task<bool> DataAsync(string arg)
    {
        if (arg.Trim().Length > 0) { _counters.Count("data", false); return await ErrorReplyAsync(501, "5.5.4", "Syntax: DATA").ConfigureAwait(false); }
        if (_chunkWriter is not null) { _counters.Count("data", false); return await ErrorReplyAsync(503, "5.5.1", "Error: DATA after BDAT").ConfigureAwait(false); }
        if (_sender is null) { _counters.Count("data", false); return await ErrorReplyAsync(503, "5.5.1", "Error: need RCPT command").ConfigureAwait(false); }
        if (_recipients.Count == 0) { _counters.Count("data", false); return await ErrorReplyAsync(554, "5.5.1", "Error: no valid recipients").ConfigureAwait(false); }
        var answer = await _policy.CheckDataAsync(PolicyInput(), _stopping).ConfigureAwait(false);
        LogWarnings(answer);
        if (!answer.Accepted)
        {
            _counters.Count("data", false);
            LogReject("DATA", answer.Reply, null);
            return await ErrorReplyAsync(answer.Reply).ConfigureAwait(false);
        }
        SpoolWriter writer;
        try { writer = CreateSpoolWriter(); }
        catch (IOException ex)
        {
            _counters.Count("data", false);
            var r = StorageReply(ex);
            Warn($"{_queueId}: cannot create queue file: {ex.Message}");
            return await ErrorReplyAsync(r).ConfigureAwait(false);
        }
        var message = NewIncomingMessage(writer);
        await ReplyAsync(354, null, "End data with <CR><LF>.<CR><LF>").ConfigureAwait(false);
        await FlushAsync(_stopping).ConfigureAwait(false);

        var decoder = new DataDecoder();
        var input = _conn.Input;
        IOException? writeError = null;
        var ct = _reader.StartDeadline(_opt.Timeout);
        byte[] outBuf = ArrayPool<byte>.Shared.Rent(64 * 1024 + 8);
        try
        {
            while (!decoder.IsDone)
            {
                ReadResult result;
                try { result = await input.ReadAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    writer.Abort(); message.Abandon();
                    _counters.Count("data", false);
                    Log($"timeout after DATA ({message.Size} bytes) from {_clientLog}");
                    await ReplyAsync(421, "4.4.2", $"{_opt.MyHostname} Error: timeout exceeded").ConfigureAwait(false);
                    return false;
                }
                var buffer = result.Buffer;
                var consumedTotal = 0L;
                int lines = 0;
                foreach (var segment in buffer)
                {
                    int offset = 0;
                    while (offset < segment.Length && !decoder.IsDone)
                    {
                        var used = decoder.Decode(segment.Span.Slice(offset, Math.Min(segment.Length - offset, 64 * 1024)), outBuf, out var written, out var le);
                        lines += le;
                        offset += used;
                        if (written > 0 && writeError is null)
                        {
                            try { await message.WriteAsync(outBuf.AsMemory(0, written), _stopping).ConfigureAwait(false); }
                            catch (IOException ex) { writeError = ex; }
                        }
                    }
                    consumedTotal += offset;
                    if (decoder.IsDone) break;
                }
                if (decoder.IsDone) { input.AdvanceTo(buffer.GetPosition(consumedTotal)); break; }
                input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    writer.Abort(); message.Abandon();
                    _counters.Count("data", false);
                    Log($"lost connection after DATA ({message.Size} bytes) from {_clientLog}");
                    _quit = true;
                    return false;
                }
                if (lines > 0) ct = _reader.StartDeadline(_opt.Timeout); // per-record deadline
            }
        }
        finally { ArrayPool<byte>.Shared.Return(outBuf); }

        return await FinishMessageAsync("data", writer, message, decoder.SawBareLf, decoder.SawBareCr, writeError).ConfigureAwait(false);
    }

    private async Task<bool> FinishMessageAsync(string counter, SpoolWriter writer, IncomingMessage message, bool bareLf, bool bareCr, IOException? writeError)
    {
        if (RejectBareNewline && (bareLf || bareCr))
        {
            // smtpd_forbid_bare_newline = reject: the whole message is refused and the client disconnected.
            writer.Abort(); message.Abandon();
            _counters.Count(counter, false);
            var what = bareLf ? "<LF>" : "<CR>";
            var reply = new SmtpReply(_opt.BareNewlineRejectCode, "5.5.2", $"Error: bare {what} received");
            LogReject("END-OF-MESSAGE", reply, null);
            await ReplyAsync(reply.Code, reply.Enhanced, reply.Text).ConfigureAwait(false);
            ResetTransaction();
            return false;
        }
        if (message.SizeExceeded)
        {
            writer.Abort(); message.Abandon();
            _counters.Count(counter, false);
            var reply = new SmtpReply(552, "5.3.4", "Message size exceeds fixed limit");
            LogReject("END-OF-MESSAGE", reply, null);
            Warn($"{_queueId}: message size {message.Size} exceeds size limit {_opt.MessageSizeLimit} of service smtpd");
            ResetTransaction();
            return await ErrorReplyAsync(reply).ConfigureAwait(false);
        }
        var eod = await _policy.CheckEndOfDataAsync(PolicyInput(), _stopping).ConfigureAwait(false);
        LogWarnings(eod);
        if (!eod.Accepted)
        {
            writer.Abort(); message.Abandon();
            _counters.Count(counter, false);
            LogReject("END-OF-MESSAGE", eod.Reply, null);
            ResetTransaction();
            return await ErrorReplyAsync(eod.Reply).ConfigureAwait(false);
        }
        try
        {
            if (writeError is not null) throw writeError;
            await message.FinishAsync(_stopping).ConfigureAwait(false);
            if (message.Verdict is { } verdict)
            {
                LogAuthentication(verdict);
                if (verdict.Reject is { } reject)
                {
                    // smtpd_dmarc_reject = yes and the From domain's DMARC policy says reject (RFC 7489 §6.6.2).
                    writer.Abort();
                    _counters.Count(counter, false);
                    LogReject("END-OF-MESSAGE", reject, null);
                    ResetTransaction();
                    return await ErrorReplyAsync(reject).ConfigureAwait(false);
                }
            }
            await writer.CommitAsync(_stopping).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            writer.Abort();
            message.Abandon();
            _counters.Count(counter, false);
            Warn($"{_queueId}: queue file write error: {ex.Message}");
            ResetTransaction();
            return await ErrorReplyAsync(StorageReply(ex)).ConfigureAwait(false);
        }
        finally { await writer.DisposeAsync().ConfigureAwait(false); }
        var id = writer.Id;
        var committed = writer.Committed();
        _logSession.Write(_opt.SyslogName, "cleanup", $"{id}: message-id={message.MessageId ?? ""}");
        _svc.Enqueue(committed);
        _counters.Count(counter, true);
        _chunkWriter = null; // committed: nothing to abort
        ResetTransaction();
        await ReplyAsync(250, "2.0.0", $"Ok: queued as {id}").ConfigureAwait(false);
        return true;
    }

    /// <summary>Disk full is 452 4.3.1 (RFC 3463 "mail system full"); other write errors 451 4.3.0.</summary>
    private static SmtpReply StorageReply(IOException ex)
    {
        const int ENOSPC = 28, EDQUOT = 122;
        var code = ex.HResult & 0xFFFF;
        if (code is ENOSPC or EDQUOT || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("quota", StringComparison.OrdinalIgnoreCase))
            return new SmtpReply(452, "4.3.1", "Insufficient system storage");
        return new SmtpReply(451, "4.3.0", "Error: queue file write error");
    }

    private SpoolWriter CreateSpoolWriter()
    {
        var env = new QueueEnvelope
        {
            QueueId = _queueId!,
            Arrival = _svc.Time.GetUtcNow(),
            Sender = _sender!.ToString(),
            Recipients = _recipients.Select(r => new QueueRecipient(r.Text)).ToList(),
            Client = _clientLog,
            Helo = _helo,
            Protocol = Protocol,
            SaslUsername = _saslUser,
            SaslMethod = _saslMethod,
            Body = _body,
            SmtpUtf8 = _smtputf8,
        };
        return _svc.Spool.Create(_queueId!, env);
    }

    private IncomingMessage NewIncomingMessage(SpoolWriter writer)
    {
        bool local = _saslUser is not null || _policy.IsTrustedNetwork(_conn.RemoteAddress);
        return new IncomingMessage(writer, ReceivedHeader(), _opt.MessageSizeLimit, MissingHeaders, NewInspection(local));

        string MissingHeaders((bool Date, bool MessageId) missing)
        {
            if (!local) return "";
            var sb = new StringBuilder();
            if (!missing.Date) sb.Append("Date: ").Append(Rfc5322Date(_svc.Time.GetLocalNow())).Append('\n');
            if (!missing.MessageId) sb.Append("Message-ID: <").Append(_svc.Time.GetUtcNow().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture))
                .Append('.').Append(_queueId).Append('@').Append(_opt.MyHostname).Append(">\n");
            return sb.ToString();
        }
    }

    /// <summary>
    /// Our own mail (SASL or mynetworks) is DKIM-signed, mail from outside checked (SPF, DKIM, DMARC), after
    /// Date/Message-ID are added; null when neither applies (docs/authentication.md).
    /// </summary>
    private MessageInspection? NewInspection(bool local)
    {
        if (_svc.Authentication is not { } auth) return null;
        if (local ? !auth.SignsMail : !auth.ChecksMail) return null;
        var context = new Mail.Authentication.InboundContext(_conn.RemoteAddress, _helo ?? "", _sender?.ToString() ?? "");
        var id = _queueId;
        return new MessageInspection(Path.Combine(_svc.Spool.IncomingDir, $"{_queueId}.auth"), async (staged, ct) =>
        {
            try
            {
                return local ? await auth.SignAsync(staged, ct).ConfigureAwait(false)
                             : await auth.CheckAsync(context, staged, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or IOException))
            {
                // A message MimeKit cannot take apart is still accepted: unsigned, or marked without results.
                Warn($"{id}: {(local ? "DKIM signing" : "sender authentication")} failed: {ex.Message}");
                return new Mail.Authentication.AuthenticationVerdict("", !local);
            }
        }, auth.IsForgedResults);
    }

    /// <summary>One line per message, as the signing and checking milters log them.</summary>
    private void LogAuthentication(Mail.Authentication.AuthenticationVerdict verdict)
    {
        if (verdict.Signed is { } signed) Log($"{_queueId}: DKIM-Signature field added ({signed})");
        if (verdict.Spf is { } spf)
        {
            var dkim = verdict.Dkim.Count == 0 ? "none" : string.Join(",", verdict.Dkim.Select(d => $"{d.ResultText}({d.Domain})"));
            Log($"{_queueId}: authentication: spf={spf.ResultText} ({spf.Domain}) dkim={dkim} dmarc={verdict.Dmarc?.ResultText ?? "none"} ({verdict.Dmarc?.FromDomain})");
        }
    }

    /// <summary>Postfix's Received header: from HELO (name [ip]) by myhostname (mail_name) with PROTO id QID for &lt;rcpt&gt;; date.</summary>
    private string ReceivedHeader()
    {
        var sb = new StringBuilder(256);
        sb.Append("Received: from ").Append(_helo ?? _client.Name).Append(" (").Append(_client.Name).Append(" [").Append(_conn.RemoteAddress).Append("])\n");
        if (_conn.IsTls && _opt.TlsReceivedHeader) sb.Append("\t(using ").Append(_conn.TlsDescription).Append(")\n");
        if (_saslUser is not null && _opt.SaslAuthenticatedHeader) sb.Append("\t(Authenticated sender: ").Append(_saslUser).Append(")\n");
        sb.Append("\tby ").Append(_opt.MyHostname).Append(" (").Append(_opt.MailName).Append(") with ").Append(Protocol).Append(" id ").Append(_queueId);
        if (_recipients.Count == 1) sb.Append("\n\tfor <").Append(_recipients[0].Text).Append('>');
        sb.Append("; ").Append(Rfc5322Date(_svc.Time.GetLocalNow())).Append('\n');
        return sb.ToString();
    }

    /// <summary>RFC 5322 §3.3 date-time: "Sat, 28 Nov 2026 02:24:06 +0000 (UTC)".</summary>
    public static string Rfc5322Date(DateTimeOffset t)
    {
        var off = t.Offset;
        var sign = off < TimeSpan.Zero ? '-' : '+';
        off = off.Duration();
        var zone = off == TimeSpan.Zero ? " (UTC)" : "";
        return t.ToString("ddd, d MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) + $"{sign}{off.Hours:00}{off.Minutes:00}{zone}";
    }
}
