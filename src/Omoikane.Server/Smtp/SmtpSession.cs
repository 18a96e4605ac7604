using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Smtp;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Smtp;

/// <summary>
/// One SMTP server session (RFC 5321), with PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
/// ENHANCEDSTATUSCODES (RFC 2034), SMTPUTF8 (RFC 6531), CHUNKING (RFC 3030), STARTTLS (RFC 3207) and
/// AUTH (RFC 4954). Replies and log lines follow Postfix's smtpd(8).
/// </summary>
public sealed partial class SmtpSession
{
    private readonly Connection _conn;
    private readonly SmtpServices _svc;
    private readonly SmtpdOptions _opt;
    private readonly LineReader _reader;
    private readonly SmtpCommandCounters _counters = new();
    private readonly CancellationToken _stopping;

    private Mail.Policy.ClientIdentity _client = Mail.Policy.ClientIdentity.UnknownPerm;
    private readonly ISmtpPolicy _policy;
    private string _clientLog = "";         // "unknown[127.0.0.1]"
    private string? _helo;
    private bool _esmtp;
    private int _errors;
    private int _junk;
    private bool _quit;
    private BareNewlineMode _bareNewline;
    private bool RejectBareNewline => _bareNewline == BareNewlineMode.Reject;

    // Transaction state (RFC 5321 §3.3): reset by RSET, HELO/EHLO, end of data.
    private MailAddress? _sender;
    private readonly List<(MailAddress Address, string Text)> _recipients = new();
    private string? _queueId;
    private string? _body;
    private bool _smtputf8;
    private long _declaredSize;

    private string? _saslUser;
    private string? _saslMethod;
    // The number in this session's "smtpd[N]" (and its cleanup line), freed when the session ends.
    private readonly Mail.Logging.LogSession _logSession;

    public SmtpSession(Connection connection, SmtpServices services, CancellationToken stopping)
    {
        _conn = connection;
        _svc = services;
        _opt = connection.UnderStress ? services.StressOptions ?? services.Options : services.Options;
        _stopping = stopping;
        _reader = new LineReader(() => _conn.Input, FlushAsync, stopping);
        _policy = services.NewPolicy();
        _logSession = services.Log.BeginSession();
    }

    private string Protocol => !_esmtp ? "SMTP" : "ESMTP" + (_conn.IsTls ? "S" : "") + (_saslUser is not null ? "A" : "");

    private void Log(string text) => _logSession.Write(_opt.SyslogName, "smtpd", text);
    private void Warn(string text) => _logSession.Write(_opt.SyslogName, "smtpd", "warning: " + text);

    private Mail.Policy.PolicyContext PolicyInput(MailAddress? rcpt = null) => new Mail.Policy.PolicyContext
    {
        ClientAddress = _conn.RemoteAddress, HeloName = _helo, Sender = _sender, Recipient = rcpt,
        SaslUsername = _saslUser, SaslMethod = _saslMethod, Tls = _conn.IsTls, Protocol = _esmtp ? "ESMTP" : "SMTP",
        QueueId = _queueId, RecipientCount = _recipients.Count,
    }.WithClient(_client);

    public async Task RunAsync()
    {
        var addr = _conn.RemoteAddress;
        try
        {
            _client = await _svc.ResolveClient(addr, _stopping).ConfigureAwait(false);
            _clientLog = $"{_client.Name}[{addr}]";
            Log($"connect from {_clientLog}");

            if (_opt.WrapperMode)
            {
                var cert = _svc.Certificate();
                if (cert is null) { Warn($"TLS wrapper mode requested but no certificate is available; disconnecting {_clientLog}"); return; }
                try { await _conn.StartTlsAsync(cert, _opt.StartTlsTimeout, _stopping).ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                    Log($"SSL_accept error from {_clientLog}: {ex.Message}");
                    Log($"lost connection after CONNECT from {_clientLog}");
                    return;
                }
                Log($"Anonymous TLS connection established from {_clientLog}: {_conn.TlsDescription}");
            }

            // (smtpd_client_connection_count_limit is enforced by the listener, before TLS: ConnectionLimit.)
            // smtpd_client_connection_rate_limit; mynetworks is exempt (smtpd_client_event_limit_exceptions).
            if (_svc.ConnectionRates.Enabled && !_svc.ConnectionRates.TryAcquire(addr) && !_policy.IsTrustedNetwork(addr))
            {
                Warn($"Connection rate limit exceeded: {_opt.ConnectionRateLimit} from {_clientLog} for service smtp");
                await ReplyAsync(421, "4.7.0", $"{_opt.MyHostname} Error: too many connections from {addr}").ConfigureAwait(false);
                return;
            }

            // smtpd_forbid_bare_newline_exclusions (default $mynetworks): those clients get "no".
            _bareNewline = _opt.BareNewline;
            if (_bareNewline != BareNewlineMode.No && await _policy.IsBareNewlineExcludedAsync(addr, _stopping).ConfigureAwait(false))
                _bareNewline = BareNewlineMode.No;

            // smtpd_delay_reject = no: client restrictions at connect; a refusal answers every later command.
            var clientAnswer = await _policy.CheckClientAsync(PolicyInput(), _stopping).ConfigureAwait(false);
            LogWarnings(clientAnswer);
            if (!clientAnswer.Accepted)
            {
                _clientReject = clientAnswer.Reply;
                LogRejectRaw("CONNECT", clientAnswer.Reply, null, null);
            }
            await ReplyAsync(220, null, _opt.Banner).ConfigureAwait(false);
            await CommandLoopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            try { await ReplyAsync(421, "4.3.2", $"{_opt.MyHostname} Service shutting down, closing transmission channel").ConfigureAwait(false); } catch (Exception) { }
        }
        catch (IOException)
        {
            Log($"lost connection after {_lastCommand ?? "CONNECT"} from {_clientLog}");
        }
        finally
        {
            if (_clientLog.Length > 0)
                Log($"disconnect from {_clientLog}{_counters}");
            _logSession.Dispose();
        }
    }

    private static readonly SmtpReply MustStartTls = new(530, "5.7.0", "Must issue a STARTTLS command first");

    private string? _lastCommand;
    private SmtpReply? _clientReject;

    private async Task CommandLoopAsync()
    {
        while (!_quit)
        {
            var max = _authInProgress ? SmtpdOptions.MaxAuthLine : SmtpdOptions.MaxAuthLine;
            var line = await _reader.ReadLineAsync(max, _opt.Timeout, RejectBareNewline).ConfigureAwait(false);
            switch (line.Status)
            {
                case LineStatus.Eof:
                    Log($"lost connection after {_lastCommand ?? "CONNECT"} from {_clientLog}");
                    return;
                case LineStatus.Timeout:
                    Log($"timeout after {_lastCommand ?? "CONNECT"} from {_clientLog}");
                    await ReplyAsync(421, "4.4.2", $"{_opt.MyHostname} Error: timeout exceeded").ConfigureAwait(false);
                    return;
                case LineStatus.BareLf:
                    // smtpd_forbid_bare_newline = reject: reply and disconnect, as Postfix does.
                    Log($"disconnect: bare <LF> received from {_clientLog}");
                    await ReplyAsync(_opt.BareNewlineRejectCode, "5.5.2", "Error: bare <LF> received").ConfigureAwait(false);
                    _counters.Count("unknown", false);
                    return;
                case LineStatus.TooLong:
                    _counters.Count("unknown", false);
                    if (!await ErrorReplyAsync(500, "5.5.2", "Error: line too long").ConfigureAwait(false)) return;
                    continue;
            }
            var text = line.Text;
            if (text.Length > SmtpdOptions.MaxCommandLine && !text.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase))
            {
                _counters.Count("unknown", false);
                if (!await ErrorReplyAsync(500, "5.5.2", "Error: line too long").ConfigureAwait(false)) return;
                continue;
            }
            if (text.Contains('\0') || (text.Contains('\r')))
            {
                _counters.Count("unknown", false);
                if (!await ErrorReplyAsync(500, "5.5.2", "Error: bad syntax").ConfigureAwait(false)) return;
                continue;
            }
            var sp = text.IndexOf(' ');
            var verb = (sp < 0 ? text : text[..sp]).ToUpperInvariant();
            var arg = sp < 0 ? "" : text[(sp + 1)..];
            if (!await DispatchAsync(verb, arg).ConfigureAwait(false)) return;
        }
    }

    /// <summary>Runs one command; false ends the session.</summary>
    private async Task<bool> DispatchAsync(string verb, string arg)
    {
        if (_clientReject is { } refused && verb is "HELO" or "EHLO" or "MAIL" or "RCPT" or "DATA" or "BDAT" or "VRFY" or "AUTH" or "STARTTLS")
        {
            _lastCommand = verb;
            _counters.Count(verb.ToLowerInvariant(), false);
            return await ErrorReplyAsync(refused).ConfigureAwait(false);
        }
        // Postfix at smtpd_tls_security_level = encrypt: before TLS only HELO/EHLO, STARTTLS, NOOP, HELP and
        // QUIT are taken (RFC 3207 §4). BDAT reads and drops its payload first (BdatAsync).
        if (_opt.TlsRequired && !_conn.IsTls && verb is "MAIL" or "RCPT" or "DATA" or "RSET" or "VRFY" or "AUTH" or "ETRN")
        {
            _lastCommand = verb;
            _counters.Count(verb.ToLowerInvariant(), false);
            return await ErrorReplyAsync(MustStartTls).ConfigureAwait(false);
        }
        switch (verb)
        {
            case "EHLO": _lastCommand = "EHLO"; return await HeloAsync(arg, true).ConfigureAwait(false);
            case "HELO": _lastCommand = "HELO"; return await HeloAsync(arg, false).ConfigureAwait(false);
            case "MAIL": _lastCommand = "MAIL"; return await MailAsync(arg).ConfigureAwait(false);
            case "RCPT": _lastCommand = "RCPT"; return await RcptAsync(arg).ConfigureAwait(false);
            case "DATA": _lastCommand = "DATA"; return await DataAsync(arg).ConfigureAwait(false);
            case "BDAT": _lastCommand = "BDAT"; return await BdatAsync(arg).ConfigureAwait(false);
            case "RSET":
                _lastCommand = "RSET";
                if (arg.Length > 0) { _counters.Count("rset", false); return await ErrorReplyAsync(501, "5.5.4", "Syntax: RSET").ConfigureAwait(false); }
                ResetTransaction();
                _counters.Count("rset", true);
                await ReplyAsync(250, "2.0.0", "Ok").ConfigureAwait(false);
                return true;
            case "NOOP":
                _lastCommand = "NOOP";
                _counters.Count("noop", true);
                await ReplyAsync(250, "2.0.0", "Ok").ConfigureAwait(false);
                return await JunkAsync().ConfigureAwait(false);
            case "QUIT":
                _lastCommand = "QUIT";
                _counters.Count("quit", true);
                await ReplyAsync(221, "2.0.0", "Bye").ConfigureAwait(false);
                _quit = true;
                return false;
            case "VRFY":
                _lastCommand = "VRFY";
                return await VrfyAsync(arg).ConfigureAwait(false);
            case "HELP":
                _lastCommand = "HELP";
                _counters.Count("unknown", true);
                await ReplyAsync(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH").ConfigureAwait(false);
                return await JunkAsync().ConfigureAwait(false);
            case "STARTTLS": _lastCommand = "STARTTLS"; return await StartTlsAsync(arg).ConfigureAwait(false);
            case "AUTH": _lastCommand = "AUTH"; return await AuthAsync(arg).ConfigureAwait(false);
            case "ETRN":
                _lastCommand = "ETRN";
                _counters.Count("etrn", false);
                return await ErrorReplyAsync(502, "5.5.1", "Error: command not implemented").ConfigureAwait(false);
            default:
                _lastCommand = "UNKNOWN";
                _counters.Count("unknown", false);
                // A client that talks HTTP to a mail port gets disconnected (Postfix: "non-SMTP command").
                if (verb is "GET" or "POST" or "CONNECT" or "USER" or "PUT" or "HEAD" || verb.EndsWith(':'))
                {
                    Warn($"non-SMTP command from {_clientLog}: {Truncate(verb + " " + arg, 100)}");
                    await ReplyAsync(502, "5.5.2", "Error: command not recognized").ConfigureAwait(false);
                    return false;
                }
                return await ErrorReplyAsync(502, "5.5.2", "Error: command not recognized").ConfigureAwait(false);
        }
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n];

    /// <summary>smtpd_junk_command_limit: NOOP/VRFY/HELP/ETRN count as junk and also raise the error count past the limit.</summary>
    private async Task<bool> JunkAsync()
    {
        if (++_junk <= _opt.JunkCommandLimit) return true;
        _errors++;
        if (_errors >= _opt.HardErrorLimit)
        {
            Log($"too many errors after {_lastCommand} from {_clientLog}");
            await ReplyAsync(421, "4.7.0", $"{_opt.MyHostname} Error: too many errors").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    private bool CheckHeloFirst => _opt.HeloRequired && _helo is null;

    private async Task<bool> HeloAsync(string arg, bool ehlo)
    {
        var name = ehlo ? "ehlo" : "helo";
        arg = arg.Trim();
        if (arg.Length == 0)
        {
            _counters.Count(name, false);
            return await ErrorReplyAsync(501, "5.5.4", ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname").ConfigureAwait(false);
        }
        // RFC 5321 §4.1.4: EHLO resets the transaction.
        ResetTransaction();
        _helo = arg;
        _esmtp = ehlo;
        var answer = await _policy.CheckHeloAsync(PolicyInput(), _stopping).ConfigureAwait(false);
        LogWarnings(answer);
        if (!answer.Accepted)
        {
            _counters.Count(name, false);
            LogReject("HELO", answer.Reply, null);
            _helo = null;
            return await ErrorReplyAsync(answer.Reply).ConfigureAwait(false);
        }
        _counters.Count(name, true);
        if (!ehlo)
        {
            await ReplyAsync(250, null, _opt.MyHostname).ConfigureAwait(false);
            return true;
        }
        var lines = new List<string> { _opt.MyHostname, "PIPELINING", $"SIZE {_opt.MessageSizeLimit.ToString(CultureInfo.InvariantCulture)}" };
        if (!_opt.DisableVrfy) lines.Add("VRFY");
        if (_opt.TlsOffered && !_conn.IsTls && _svc.Certificate() is not null) lines.Add("STARTTLS");
        var mechs = AuthMechanismsOffered();
        if (mechs.Count > 0)
        {
            lines.Add("AUTH " + string.Join(' ', mechs));
            if (_opt.BrokenSaslAuthClients) lines.Add("AUTH=" + string.Join(' ', mechs));
        }
        lines.Add("ENHANCEDSTATUSCODES");
        lines.Add("8BITMIME");
        if (_opt.SmtpUtf8) lines.Add("SMTPUTF8");
        lines.Add("CHUNKING");
        lines.RemoveAll(l => _opt.DiscardEhloKeywords.Any(k => l.Split(' ')[0].Equals(k, StringComparison.OrdinalIgnoreCase)));
        await MultiReplyAsync(250, lines).ConfigureAwait(false);
        return true;
    }

    private async Task<bool> VrfyAsync(string arg)
    {
        if (_opt.DisableVrfy)
        {
            // RFC 5321 §3.5.3: 252 when the server will not verify but will accept mail for the address.
            _counters.Count("vrfy", true);
            await ReplyAsync(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery").ConfigureAwait(false);
            return await JunkAsync().ConfigureAwait(false);
        }
        if (arg.Trim().Length == 0)
        {
            _counters.Count("vrfy", false);
            return await ErrorReplyAsync(501, "5.5.4", "Syntax: VRFY address").ConfigureAwait(false);
        }
        var err = PathParser.TryParse(arg.Trim(), false, true, out var addr, out _);
        if (err != PathError.None)
        {
            _counters.Count("vrfy", false);
            return await ErrorReplyAsync(501, "5.1.3", "Bad recipient address syntax").ConfigureAwait(false);
        }
        if (await _svc.Local.IsLocalDomainAsync(addr.Domain.Length == 0 ? _opt.MyHostname : addr.Domain, _stopping).ConfigureAwait(false) == Mail.Policy.Tables.LookupStatus.Found
            && await _svc.Local.ExistsAsync(addr, _stopping).ConfigureAwait(false) == Mail.Policy.Tables.LookupStatus.NotFound)
        {
            _counters.Count("vrfy", false);
            return await ErrorReplyAsync(550, "5.1.1", $"<{addr}>: Recipient address rejected: User unknown in local recipient table").ConfigureAwait(false);
        }
        _counters.Count("vrfy", true);
        await ReplyAsync(252, "2.0.0", addr.ToString()).ConfigureAwait(false);
        return await JunkAsync().ConfigureAwait(false);
    }

    private async Task<bool> MailAsync(string arg)
    {
        if (CheckHeloFirst) { _counters.Count("mail", false); return await ErrorReplyAsync(503, "5.5.1", "Error: send HELO/EHLO first").ConfigureAwait(false); }
        if (_sender is not null) { _counters.Count("mail", false); return await ErrorReplyAsync(503, "5.5.1", "Error: nested MAIL command").ConfigureAwait(false); }
        if (!arg.StartsWith("FROM:", StringComparison.OrdinalIgnoreCase))
        { _counters.Count("mail", false); return await ErrorReplyAsync(501, "5.5.4", "Syntax: MAIL FROM:<address>").ConfigureAwait(false); }
        var err = PathParser.TryParse(arg[5..], allowNull: true, utf8: true, out var sender, out var parameters);
        if (err != PathError.None)
        {
            _counters.Count("mail", false);
            return err == PathError.Syntax && !arg[5..].TrimStart().StartsWith('<')
                ? await ErrorReplyAsync(501, "5.5.4", "Syntax: MAIL FROM:<address>").ConfigureAwait(false)
                : await ErrorReplyAsync(501, "5.1.7", "Bad sender address syntax").ConfigureAwait(false);
        }
        long size = 0; string? body = null; bool utf8 = false;
        foreach (var p in parameters)
        {
            switch (p.Keyword)
            {
                case "SIZE":
                    if (p.Value is null || !long.TryParse(p.Value, NumberStyles.None, CultureInfo.InvariantCulture, out size))
                    { _counters.Count("mail", false); return await ErrorReplyAsync(501, "5.5.4", "Bad message size syntax").ConfigureAwait(false); }
                    break;
                case "BODY":
                    body = p.Value?.ToUpperInvariant();
                    if (body is not ("7BIT" or "8BITMIME"))
                    { _counters.Count("mail", false); return await ErrorReplyAsync(501, "5.5.4", "Unknown BODY parameter").ConfigureAwait(false); }
                    break;
                case "SMTPUTF8" when _opt.SmtpUtf8 && p.Value is null:
                    utf8 = true; break;
                case "AUTH":
                    break; // RFC 4954 §5: accepted, not trusted
                default:
                    _counters.Count("mail", false);
                    return await ErrorReplyAsync(555, "5.5.4", $"Unsupported option: {p.Keyword}{(p.Value is null ? "" : "=" + p.Value)}").ConfigureAwait(false);
            }
        }
        if (!utf8 && (sender.LocalPart.Any(c => c >= 0x80) || sender.Domain.Any(c => c >= 0x80)))
        { _counters.Count("mail", false); return await ErrorReplyAsync(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address").ConfigureAwait(false); }
        if (_opt.MessageSizeLimit > 0 && size > _opt.MessageSizeLimit)
        {
            _counters.Count("mail", false);
            LogRejectRaw("MAIL", new SmtpReply(552, "5.3.4", "Message size exceeds fixed limit"), sender, null);
            return await ErrorReplyAsync(552, "5.3.4", "Message size exceeds fixed limit").ConfigureAwait(false);
        }
        _sender = sender;
        var answer = await _policy.CheckSenderAsync(PolicyInput(), _stopping).ConfigureAwait(false);
        LogWarnings(answer);
        if (!answer.Accepted)
        {
            _counters.Count("mail", false);
            LogReject("MAIL", answer.Reply, null);
            _sender = null;
            return await ErrorReplyAsync(answer.Reply).ConfigureAwait(false);
        }
        _body = body; _smtputf8 = utf8; _declaredSize = size;
        _counters.Count("mail", true);
        await ReplyAsync(250, "2.1.0", "Ok").ConfigureAwait(false);
        return true;
    }

    private async Task<bool> RcptAsync(string arg)
    {
        if (_sender is null) { _counters.Count("rcpt", false); return await ErrorReplyAsync(503, "5.5.1", "Error: need MAIL command").ConfigureAwait(false); }
        if (!arg.StartsWith("TO:", StringComparison.OrdinalIgnoreCase))
        { _counters.Count("rcpt", false); return await ErrorReplyAsync(501, "5.5.4", "Syntax: RCPT TO:<address>").ConfigureAwait(false); }
        var err = PathParser.TryParse(arg[3..], allowNull: false, utf8: true, out var rcpt, out var parameters);
        if (err != PathError.None)
        {
            _counters.Count("rcpt", false);
            return await ErrorReplyAsync(501, "5.1.3", "Bad recipient address syntax").ConfigureAwait(false);
        }
        foreach (var p in parameters)
        {
            _counters.Count("rcpt", false);
            return await ErrorReplyAsync(555, "5.5.4", $"Unsupported option: {p.Keyword}{(p.Value is null ? "" : "=" + p.Value)}").ConfigureAwait(false);
        }
        if (!_smtputf8 && (rcpt.LocalPart.Any(c => c >= 0x80) || rcpt.Domain.Any(c => c >= 0x80)))
        { _counters.Count("rcpt", false); return await ErrorReplyAsync(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address").ConfigureAwait(false); }
        if (_recipients.Count >= _opt.RecipientLimit)
        {
            _counters.Count("rcpt", false);
            // RFC 5321 §4.5.3.1.10: 452 for too many recipients, and it does not count as an error.
            await ReplyAsync(452, "4.5.3", "Error: too many recipients").ConfigureAwait(false);
            return true;
        }
        if (rcpt.Domain.Length == 0) rcpt = rcpt with { Domain = _opt.MyHostname }; // RCPT TO:<postmaster>
        var answer = await _policy.CheckRecipientAsync(PolicyInput(rcpt), _stopping).ConfigureAwait(false);
        LogWarnings(answer);
        if (!answer.Accepted)
        {
            _counters.Count("rcpt", false);
            LogReject("RCPT", answer.Reply, rcpt);
            return await ErrorReplyAsync(answer.Reply).ConfigureAwait(false);
        }
        if (_queueId is null)
        {
            _queueId = Mail.Queue.QueueId.Next(_svc.Time);
            var sasl = _saslUser is null ? "" : $", sasl_method={_saslMethod}, sasl_username={_saslUser}";
            Log($"{_queueId}: client={_clientLog}{sasl}");
        }
        _recipients.Add((rcpt, rcpt.ToString()));
        _counters.Count("rcpt", true);
        await ReplyAsync(250, "2.1.5", "Ok").ConfigureAwait(false);
        return true;
    }

    private void ResetTransaction()
    {
        _sender = null;
        _recipients.Clear();
        _queueId = null;
        _body = null;
        _smtputf8 = false;
        _declaredSize = 0;
        ResetChunking();
    }

    private void LogWarnings(PolicyAnswer answer)
    {
        if (answer.Warnings is null) return;
        foreach (var w in answer.Warnings) Log(w);
    }

    /// <summary>"NOQUEUE: reject: RCPT from unknown[1.2.3.4]: 554 5.7.1 ...; from=&lt;a&gt; to=&lt;b&gt; proto=ESMTP helo=&lt;h&gt;".</summary>
    private void LogReject(string stage, SmtpReply reply, MailAddress? rcpt) => LogRejectRaw(stage, reply, _sender, rcpt);

    private void LogRejectRaw(string stage, SmtpReply reply, MailAddress? sender, MailAddress? rcpt)
    {
        var sb = new StringBuilder();
        sb.Append(_queueId ?? "NOQUEUE").Append(": reject: ").Append(stage).Append(" from ").Append(_clientLog).Append(": ").Append(reply.ToString());
        sb.Append(';');
        if (sender is not null) sb.Append(" from=<").Append(sender).Append('>');
        if (rcpt is not null) sb.Append(" to=<").Append(rcpt).Append('>');
        sb.Append(" proto=").Append(_esmtp ? "ESMTP" : "SMTP");
        if (_helo is not null) sb.Append(" helo=<").Append(_helo).Append('>');
        Log(sb.ToString());
    }

    // ---- replies ----

    private ValueTask FlushAsync(CancellationToken ct) => _conn.FlushAsync(ct);

    private void Write(string s) => _conn.Write(s);

    /// <summary>Queues a reply; it is flushed when no further pipelined command is waiting (RFC 2920 §3.1).</summary>
    private ValueTask ReplyAsync(int code, string? enhanced, string text)
    {
        Write(enhanced is null ? $"{code} {text}\r\n" : $"{code} {enhanced} {text}\r\n");
        if (code == 221 || code == 421 || code >= 500 && _quit) return FlushAsync(_stopping);
        return _reader.HasBufferedLine ? ValueTask.CompletedTask : FlushAsync(_stopping);
    }

    private ValueTask MultiReplyAsync(int code, IReadOnlyList<string> lines)
    {
        for (int i = 0; i < lines.Count; i++)
            Write($"{code}{(i == lines.Count - 1 ? ' ' : '-')}{lines[i]}\r\n");
        return _reader.HasBufferedLine ? ValueTask.CompletedTask : FlushAsync(_stopping);
    }

    private Task<bool> ErrorReplyAsync(SmtpReply reply) => ErrorReplyAsync(reply.Code, reply.Enhanced, reply.Text);

    /// <summary>
    /// Sends a 4xx/5xx reply and counts the error: past smtpd_soft_error_limit each error reply is
    /// delayed by smtpd_error_sleep_time; at smtpd_hard_error_limit the session ends with 421.
    /// </summary>
    private async Task<bool> ErrorReplyAsync(int code, string? enhanced, string text)
    {
        _errors++;
        if (_errors > _opt.SoftErrorLimit && _opt.SoftErrorLimit > 0 && _opt.ErrorSleepTime > TimeSpan.Zero)
            await Task.Delay(_opt.ErrorSleepTime, _svc.Time, _stopping).ConfigureAwait(false);
        await ReplyAsync(code, enhanced, text).ConfigureAwait(false);
        if (_errors >= _opt.HardErrorLimit)
        {
            Log($"too many errors after {_lastCommand} from {_clientLog}");
            await ReplyAsync(421, "4.7.0", $"{_opt.MyHostname} Error: too many errors").ConfigureAwait(false);
            await FlushAsync(_stopping).ConfigureAwait(false);
            return false;
        }
        return true;
    }
}
