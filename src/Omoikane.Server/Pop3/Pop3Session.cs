using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Pop3;

/// <summary>
/// One POP3 server session: RFC 1939 (USER/PASS, APOP, the TRANSACTION commands, UPDATE on QUIT),
/// CAPA and response codes (RFC 2449, RFC 3206), STLS (RFC 2595) and AUTH (RFC 5034) with the SASL
/// mechanisms SMTP uses. Log lines follow Dovecot's ("pop3-login: Login: user=&lt;...&gt;, method=...").
/// </summary>
public sealed partial class Pop3Session
{
    private readonly Connection _conn;
    private readonly Pop3Services _svc;
    private readonly Pop3Options _opt;
    private readonly LineReader _reader;
    private readonly CancellationToken _stopping;
    private readonly long _started;

    private Pop3State _state = Pop3State.Authorization;
    private string? _apopTimestamp;
    private int _badCommands;
    private string? _endReason;
    // The number in this session's "pop3d[N]", freed when the session ends.
    private readonly Mail.Logging.LogSession _logSession;

    public Pop3Session(Connection connection, Pop3Services services, CancellationToken stopping)
    {
        _conn = connection;
        _svc = services;
        _opt = connection.UnderStress ? services.StressOptions ?? services.Options : services.Options;
        _stopping = stopping;
        _reader = new LineReader(() => _conn.Input, FlushAsync, stopping);
        _started = services.Time.GetTimestamp();
        _logSession = services.Log.BeginSession();
    }

    /// <summary>The session's state (for tests).</summary>
    public Pop3State State => _state;

    private void Log(string text) => _logSession.Write(_opt.SyslogName, "pop3d", text);
    private void Warn(string text) => _logSession.Write(_opt.SyslogName, "pop3d", "warning: " + text);

    private string Endpoints => $"rip={_conn.RemoteAddress}, lip={_conn.LocalAddress}{(_conn.IsTls ? ", TLS" : "")}";
    private long Seconds => (long)_svc.Time.GetElapsedTime(_started).TotalSeconds;

    /// <summary>Runs the session to its end; never throws for a broken connection.</summary>
    public async Task RunAsync()
    {
        try
        {
            if (_opt.WrapperMode && !await StartWrapperTlsAsync().ConfigureAwait(false)) return;
            // RFC 1939 §4 and §7: the greeting carries a fresh timestamp when APOP is offered.
            var greeting = "+OK " + _opt.Banner;
            if (_opt.ApopEnabled)
            {
                _apopTimestamp = NewTimestamp(_opt.MyHostname, _svc.Time);
                greeting += " " + _apopTimestamp;
            }
            Write(greeting + "\r\n");
            await FlushAsync(_stopping).ConfigureAwait(false);
            await CommandLoopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            _endReason ??= "Server shutting down";
            try
            {
                Write("-ERR [SYS/TEMP] Server shutting down.\r\n");
                await _conn.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception) { }
        }
        catch (IOException)
        {
            _endReason ??= "Connection closed";
        }
        finally
        {
            DropReadAhead();
            _maildrop?.Dispose();
            LogEnd();
            _logSession.Dispose();
        }
    }

    /// <summary>"&lt;pid.clock@hostname&gt;" (RFC 1939 §7): unique per greeting through the clock and a random part.</summary>
    public static string NewTimestamp(string hostname, TimeProvider time)
    {
        Span<byte> random = stackalloc byte[6];
        RandomNumberGenerator.Fill(random);
        var clock = time.GetUtcNow().ToUnixTimeMilliseconds();
        return string.Create(CultureInfo.InvariantCulture,
            $"<{Environment.ProcessId}.{clock}.{Convert.ToHexStringLower(random)}@{hostname}>");
    }

    private void LogEnd()
    {
        if (_address is not null)
        {
            var reason = _endReason ?? "Connection closed";
            var head = reason.StartsWith("Disconnected", StringComparison.Ordinal) ? reason : "Disconnected: " + reason;
            Log($"pop3({_address}): {head} top={_topCount}/{_topBytes}, retr={_retrCount}/{_retrBytes}, " +
                $"del={_deletedOnQuit}/{_maildrop?.Total ?? 0}, size={_maildrop?.InitialSize ?? 0}");
        }
        else if (_tlsFailed)
            return;   // logged where the handshake failed
        else if (_authFailures > 0)
            Log($"pop3-login: Disconnected (auth failed, {_authFailures} attempts in {Seconds} secs): user=<{Mail.Logging.LogText.DovecotField(_lastUser)}>, method={Mail.Logging.LogText.DovecotField(_lastMethod)}, {Endpoints}");
        else if (_plaintextRefused)
            Log($"pop3-login: Disconnected (tried to use disallowed plaintext auth): user=<{Mail.Logging.LogText.DovecotField(_lastUser)}>, {Endpoints}");
        else
            Log($"pop3-login: Disconnected (no auth attempts in {Seconds} secs): user=<>, {Endpoints}");
    }

    private async Task CommandLoopAsync()
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(Pop3Options.MaxAuthLine, _opt.Timeout, forbidBareLf: false).ConfigureAwait(false);
            switch (line.Status)
            {
                case LineStatus.Eof:
                    _endReason ??= "Connection closed";
                    return;
                case LineStatus.Timeout:
                    _endReason = "Disconnected for inactivity";
                    Write("-ERR Disconnected for inactivity.\r\n");
                    await FlushAsync(_stopping).ConfigureAwait(false);
                    return;
                case LineStatus.TooLong:
                    if (!await BadCommandAsync("Line too long.").ConfigureAwait(false)) return;
                    continue;
            }
            var text = line.Text;
            int sp = text.IndexOf(' ');
            var verb = (sp < 0 ? text : text[..sp]).ToUpperInvariant();
            var arg = sp < 0 ? "" : text[(sp + 1)..];
            if (text.Length > Pop3Options.MaxCommandLine && verb != "AUTH")
            {
                if (!await BadCommandAsync("Line too long.").ConfigureAwait(false)) return;
                continue;
            }
            if (text.Contains('\0') || text.Contains('\r'))
            {
                if (!await BadCommandAsync("Invalid characters in command.").ConfigureAwait(false)) return;
                continue;
            }
            if (!await DispatchAsync(verb, arg).ConfigureAwait(false)) return;
            if (_readAheadNext != 0 && !_reader.HasBufferedLine) ReadAhead();
        }
    }

    /// <summary>Runs one command; false ends the session. RFC 1939 §3: commands are valid only in their state.</summary>
    private async Task<bool> DispatchAsync(string verb, string arg)
    {
        switch (verb)
        {
            case "CAPA": return await CapaAsync().ConfigureAwait(false);
            case "QUIT": return await QuitAsync().ConfigureAwait(false);
        }
        if (_state == Pop3State.Authorization)
        {
            return verb switch
            {
                "USER" => await UserAsync(arg).ConfigureAwait(false),
                "PASS" => await PassAsync(arg).ConfigureAwait(false),
                "APOP" => await ApopAsync(arg).ConfigureAwait(false),
                "AUTH" => await AuthAsync(arg).ConfigureAwait(false),
                "STLS" => await StlsAsync(arg).ConfigureAwait(false),
                "STAT" or "LIST" or "RETR" or "DELE" or "NOOP" or "RSET" or "TOP" or "UIDL"
                    => await BadCommandAsync("Not logged in.").ConfigureAwait(false),
                _ => await BadCommandAsync("Unknown command.").ConfigureAwait(false),
            };
        }
        return verb switch
        {
            "STAT" => await StatAsync(arg).ConfigureAwait(false),
            "LIST" => await ListAsync(arg).ConfigureAwait(false),
            "UIDL" => await UidlAsync(arg).ConfigureAwait(false),
            "RETR" => await RetrAsync(arg).ConfigureAwait(false),
            "TOP" => await TopAsync(arg).ConfigureAwait(false),
            "DELE" => await DeleAsync(arg).ConfigureAwait(false),
            "NOOP" => await NoopAsync(arg).ConfigureAwait(false),
            "RSET" => await RsetAsync(arg).ConfigureAwait(false),
            "USER" or "PASS" or "APOP" or "AUTH" => await BadCommandAsync("Already logged in.").ConfigureAwait(false),
            "STLS" => await BadCommandAsync("STLS is not valid after login.").ConfigureAwait(false),
            _ => await BadCommandAsync("Unknown command.").ConfigureAwait(false),
        };
    }

    /// <summary>CAPA (RFC 2449 §5), listing what is usable in the current state.</summary>
    private async Task<bool> CapaAsync()
    {
        Write("+OK Capability list follows\r\n");
        Write("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
        if (_state == Pop3State.Authorization)
        {
            if (!LoginNeedsTls) Write("USER\r\n");
            var mechanisms = MechanismsOffered();
            if (mechanisms.Count > 0) Write("SASL " + string.Join(' ', mechanisms) + "\r\n");
            if (StlsAvailable) Write("STLS\r\n");
        }
        // RFC 2449 §6.7: this server never removes messages on its own.
        Write("EXPIRE NEVER\r\n");
        Write("IMPLEMENTATION Omoikane\r\n.\r\n");
        await ReplyFlushAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>QUIT (RFC 1939 §4, §6): in TRANSACTION it enters UPDATE and removes the marked messages.</summary>
    private async Task<bool> QuitAsync()
    {
        if (_state == Pop3State.Transaction && _maildrop is { } drop)
        {
            _state = Pop3State.Update;
            int marked = drop.DeletedCount;
            int failed = drop.CommitDeletions();
            _deletedOnQuit = marked - failed;
            _endReason = "Logged out";
            if (failed > 0)
            {
                Warn($"pop3({_address}): {failed} of {marked} deleted messages could not be removed from {drop.Path}");
                Write($"-ERR [SYS/TEMP] {failed} deleted messages were not removed.\r\n");
            }
            else
                Write($"+OK Logging out, {marked} messages deleted.\r\n");
        }
        else
        {
            _endReason = "Logged out";
            Write("+OK Logging out.\r\n");
        }
        await FlushAsync(_stopping).ConfigureAwait(false);
        return false;
    }

    // ---- replies ----

    private ValueTask FlushAsync(CancellationToken ct) => _conn.FlushAsync(ct);

    private void Write(string s) => _conn.Write(s);

    /// <summary>Flushes unless another pipelined command is already waiting (RFC 2449 §6.6).</summary>
    private ValueTask ReplyFlushAsync() => _reader.HasBufferedLine ? ValueTask.CompletedTask : FlushAsync(_stopping);

    private ValueTask OkAsync(string text)
    {
        Write(text.Length == 0 ? "+OK\r\n" : "+OK " + text + "\r\n");
        return ReplyFlushAsync();
    }

    private ValueTask ErrAsync(string text)
    {
        Write("-ERR " + text + "\r\n");
        return ReplyFlushAsync();
    }

    /// <summary>An unknown, malformed or out-of-state command; too many of them end the session.</summary>
    private async Task<bool> BadCommandAsync(string text)
    {
        _badCommands++;
        if (_opt.BadCommandLimit > 0 && _badCommands >= _opt.BadCommandLimit)
        {
            _endReason = "Disconnected: Too many invalid commands";
            Write("-ERR Too many invalid commands.\r\n");
            await FlushAsync(_stopping).ConfigureAwait(false);
            return false;
        }
        await ErrAsync(text).ConfigureAwait(false);
        return true;
    }
}
