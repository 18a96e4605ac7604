using Omoikane.Mail.Credentials;
using Omoikane.Server.Sasl;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Pop3;

public sealed partial class Pop3Session
{
    private const string AuthFailed = "[AUTH] Authentication failed.";

    private string? _user;             // USER given, PASS awaited
    private string? _address;          // logged in as
    private string _lastUser = "";
    private string _lastMethod = "";
    private int _authFailures;
    private bool _plaintextRefused;
    private Maildrop? _maildrop;

    private const string PlaintextRefusal = "[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

    /// <summary>
    /// pop3d_tls_security_level = encrypt: no login of any kind before STLS (AuthGate; Dovecot's ssl = required):
    /// USER, PASS, APOP and AUTH are refused and CAPA lists neither USER nor SASL.
    /// </summary>
    private bool LoginNeedsTls => _opt.AuthGate.For(_conn.IsTls) == AuthAvailability.NeedsTls;

    private IReadOnlyList<string> MechanismsOffered() => _opt.AuthGate.Mechanisms(_svc.Sasl, SaslContextForConnection());

    private Task<bool> RefuseBeforeTlsAsync()
    {
        _plaintextRefused = true;
        return BadCommandAsync(PlaintextRefusal);
    }

    private SaslContext SaslContextForConnection()
    {
        byte[]? exporter = null, endpoint = null;
        if (_conn.Tls is { } tls)
        {
            endpoint = ChannelBinding.TlsServerEndPoint(tls);
            exporter = ChannelBinding.TlsExporter(tls);
        }
        return new SaslContext(_opt.MyHostname, exporter, endpoint, _conn.IsTls);
    }

    /// <summary>USER (RFC 1939 §7). The answer is the same whether or not the user exists.</summary>
    private async Task<bool> UserAsync(string arg)
    {
        _user = null;
        if (LoginNeedsTls) return await RefuseBeforeTlsAsync().ConfigureAwait(false);
        var name = arg.Trim();
        if (name.Length == 0) return await BadCommandAsync("Syntax: USER name").ConfigureAwait(false);
        _user = name;
        _lastUser = name;
        await OkAsync("").ConfigureAwait(false);
        return true;
    }

    /// <summary>PASS (RFC 1939 §7): the rest of the line is the password, spaces included.</summary>
    private async Task<bool> PassAsync(string arg)
    {
        if (LoginNeedsTls) return await RefuseBeforeTlsAsync().ConfigureAwait(false);
        if (_user is not { } user) return await BadCommandAsync("No username given.").ConfigureAwait(false);
        _user = null;   // RFC 1939 §7: after a failed PASS the client starts again with USER
        if (IsBlocked()) return await BlockedAsync(user, "PLAIN").ConfigureAwait(false);
        UserRecord? record;
        try { record = _svc.Users.Find(user); }
        catch (Exception ex) when (ex is IOException or UserStoreException or UnauthorizedAccessException)
        {
            return await TempFailAsync(user, "PLAIN", ex.Message).ConfigureAwait(false);
        }
        if (!await Task.Run(() => PasswordVerifier.VerifyPassword(record, arg), _stopping).ConfigureAwait(false))
            return await LoginFailedAsync(user, "PLAIN").ConfigureAwait(false);
        return await LoginAsync(record!.Address, "PLAIN").ConfigureAwait(false);
    }

    /// <summary>APOP name digest (RFC 1939 §7): MD5 over the greeting's timestamp and the shared secret.</summary>
    private async Task<bool> ApopAsync(string arg)
    {
        if (_apopTimestamp is null) return await BadCommandAsync("APOP is not available.").ConfigureAwait(false);
        _user = null;
        if (LoginNeedsTls) return await RefuseBeforeTlsAsync().ConfigureAwait(false);
        var parts = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2) return await BadCommandAsync("Syntax: APOP name digest").ConfigureAwait(false);
        var (user, digest) = (parts[0], parts[1]);
        if (IsBlocked()) return await BlockedAsync(user, "APOP").ConfigureAwait(false);
        UserRecord? record;
        try { record = _svc.Users.Find(user); }
        catch (Exception ex) when (ex is IOException or UserStoreException or UnauthorizedAccessException)
        {
            return await TempFailAsync(user, "APOP", ex.Message).ConfigureAwait(false);
        }
        if (!PasswordVerifier.VerifyApop(record, _apopTimestamp, digest))
            return await LoginFailedAsync(user, "APOP").ConfigureAwait(false);
        return await LoginAsync(record!.Address, "APOP").ConfigureAwait(false);
    }

    /// <summary>AUTH mechanism [initial-response] (RFC 5034 §4).</summary>
    private async Task<bool> AuthAsync(string arg)
    {
        _user = null;
        var parts = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var offered = MechanismsOffered();
        if (parts.Length == 0)
        {
            // The bare "AUTH" of RFC 1734 clients: list the mechanisms.
            Write("+OK\r\n");
            foreach (var m in offered) Write(m + "\r\n");
            Write(".\r\n");
            await ReplyFlushAsync().ConfigureAwait(false);
            return true;
        }
        if (parts.Length > 2) return await BadCommandAsync("Syntax: AUTH mechanism [initial-response]").ConfigureAwait(false);
        var name = parts[0].ToUpperInvariant();
        if (LoginNeedsTls) return await RefuseBeforeTlsAsync().ConfigureAwait(false);
        if (!offered.Contains(name, StringComparer.Ordinal) || _svc.Sasl!.Create(name, SaslContextForConnection()) is not { } mech)
            return await BadCommandAsync("Unsupported authentication mechanism.").ConfigureAwait(false);
        using var _ = mech;
        if (IsBlocked()) return await BlockedAsync("", name).ConfigureAwait(false);

        byte[] response = [];
        if (parts.Length == 2)
        {
            if (mech.ServerFirst) return await BadCommandAsync("Initial response not allowed for this mechanism.").ConfigureAwait(false);
            if (!TryDecode(parts[1], out response)) return await BadCommandAsync("Invalid base64 data in initial response.").ConfigureAwait(false);
        }
        // RFC 5034 §4: "*" cancels (-ERR); additional data with success goes in a challenge answered empty.
        var result = await SaslExchange.RunAsync(mech, response, ChallengeAsync, emptyLineIsEmpty: true, _stopping).ConfigureAwait(false);
        return result.Status switch
        {
            SaslExchangeStatus.Success => await LoginAsync(mech.AuthenticatedUser!, name).ConfigureAwait(false),
            SaslExchangeStatus.TempFail => await TempFailAsync("", name, result.Reason ?? "temporary failure").ConfigureAwait(false),
            SaslExchangeStatus.Cancelled => await BadCommandAsync("Authentication cancelled.").ConfigureAwait(false),
            SaslExchangeStatus.BadBase64 => await BadCommandAsync("Invalid base64 data in response.").ConfigureAwait(false),
            SaslExchangeStatus.LineFailed => await AuthLineFailureAsync(result.Line).ConfigureAwait(false),
            _ => await LoginFailedAsync("", name, mech.AttemptedUser).ConfigureAwait(false),
        };
    }

    private async Task<Line> ChallengeAsync(byte[] challenge)
    {
        Write("+ " + Convert.ToBase64String(challenge) + "\r\n");
        await FlushAsync(_stopping).ConfigureAwait(false);
        return await _reader.ReadLineAsync(Pop3Options.MaxAuthLine, _opt.Timeout, forbidBareLf: false).ConfigureAwait(false);
    }

    private async Task<bool> AuthLineFailureAsync(Line line)
    {
        switch (line.Status)
        {
            case LineStatus.Timeout:
                _endReason = "Disconnected for inactivity";
                Write("-ERR Disconnected for inactivity.\r\n");
                await FlushAsync(_stopping).ConfigureAwait(false);
                return false;
            case LineStatus.TooLong:
                return await BadCommandAsync("Authentication response too long.").ConfigureAwait(false);
            default:
                _endReason ??= "Connection closed";
                return false;
        }
    }

    /// <summary>Strict base64 (RFC 5034 §4: undecodable data is refused with -ERR); "=" is an empty response.</summary>
    public static bool TryDecode(string text, out byte[] data) => SaslBase64.TryDecode(text, emptyLineIsEmpty: true, out data);

    private bool IsBlocked() => _svc.AuthThrottle?.IsBlocked(_conn.RemoteAddress) == true;

    /// <summary>A client past the shared failure limit is refused without a check, and dropped.</summary>
    private async Task<bool> BlockedAsync(string user, string method)
    {
        _authFailures++;
        _lastUser = user;
        _lastMethod = method;
        Write("-ERR [AUTH] Too many authentication failures; try again later.\r\n");
        await FlushAsync(_stopping).ConfigureAwait(false);
        return false;
    }

    private async Task<bool> TempFailAsync(string user, string method, string reason)
    {
        Warn($"pop3-login: user store unavailable for user=<{Mail.Logging.LogText.DovecotField(user)}>, method={Mail.Logging.LogText.DovecotField(method)}: {reason}");
        await ErrAsync("[SYS/TEMP] Temporary authentication failure.").ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// A failed login: the shared throttle delays the answer and may drop the client;
    /// pop3d_login_failure_limit drops it after that many failures in this session.
    /// </summary>
    /// <param name="account">The account the attempt was against, for the throttle, when <paramref name="user"/> (logged) is not it.</param>
    private async Task<bool> LoginFailedAsync(string user, string method, string? account = null)
    {
        _authFailures++;
        _lastUser = user;
        _lastMethod = method;
        bool disconnect = _opt.LoginFailureLimit > 0 && _authFailures >= _opt.LoginFailureLimit;
        if (_svc.AuthThrottle is { } throttle)
        {
            var verdict = throttle.RecordFailure(_conn.RemoteAddress, account ?? user);
            if (verdict.Delay > TimeSpan.Zero)
            {
                await FlushAsync(_stopping).ConfigureAwait(false);
                await Task.Delay(verdict.Delay, _svc.Time, _stopping).ConfigureAwait(false);
            }
            disconnect |= verdict.Disconnect;
        }
        if (disconnect)
        {
            Write("-ERR " + AuthFailed + "\r\n");
            await FlushAsync(_stopping).ConfigureAwait(false);
            return false;
        }
        await ErrAsync(AuthFailed).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Credentials are good: lock and list the maildrop (RFC 1939 §4: enter TRANSACTION only with the
    /// maildrop locked; otherwise stay in AUTHORIZATION with [IN-USE] or [SYS/TEMP]).
    /// </summary>
    private async Task<bool> LoginAsync(string address, string method)
    {
        _lastUser = address;
        _lastMethod = method;
        var status = Maildrop.Open(_svc.MailboxBase, address, _svc.Locks, out var drop, out var error);
        if (status == MaildropStatus.InUse)
        {
            Log($"pop3-login: Login refused, mailbox in use: user=<{Mail.Logging.LogText.DovecotField(address)}>, method={method}, {Endpoints}");
            await ErrAsync("[IN-USE] Mailbox is locked by another POP3 session.").ConfigureAwait(false);
            return true;
        }
        if (status == MaildropStatus.Failed)
        {
            Warn($"pop3({address}): cannot open maildrop: {error}");
            await ErrAsync("[SYS/TEMP] Unable to open the mailbox.").ConfigureAwait(false);
            return true;
        }
        _maildrop = drop;
        _address = address;
        _state = Pop3State.Transaction;
        _svc.AuthThrottle?.RecordSuccess(_conn.RemoteAddress, address);
        _svc.PopBeforeSmtp?.Record(_conn.RemoteAddress, _svc.Time.GetUtcNow());
        Log($"pop3-login: Login: user=<{Mail.Logging.LogText.DovecotField(address)}>, method={method}, {Endpoints}");
        await OkAsync($"Logged in, {drop!.Count} messages ({drop.Size} octets).").ConfigureAwait(false);
        return true;
    }
}
