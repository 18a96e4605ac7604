using System.Text;
using Omoikane.Server.Sasl;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Smtp;

public sealed partial class SmtpSession
{
    private bool _authInProgress;

    /// <summary>
    /// Mechanisms announced in EHLO and accepted by AUTH (AuthGate): none unless AUTH is enabled, none
    /// before TLS with smtpd_tls_auth_only or at smtpd_tls_security_level = encrypt, none once authenticated.
    /// </summary>
    private IReadOnlyList<string> AuthMechanismsOffered()
        => _saslUser is not null ? [] : _opt.AuthGate.Mechanisms(_svc.Sasl, SaslContextForConnection());

    /// <summary>AUTH (RFC 4954).</summary>
    private async Task<bool> AuthAsync(string arg)
    {
        // Postfix keeps SASL inactive before TLS with smtpd_tls_auth_only: "not enabled", as without SASL.
        // (At encrypt the dispatcher has already answered 530 5.7.0.)
        if (_svc.Sasl is null || _opt.AuthGate.For(_conn.IsTls) != AuthAvailability.Available)
        { _counters.Count("auth", false); return await ErrorReplyAsync(503, "5.5.1", "Error: authentication not enabled").ConfigureAwait(false); }
        if (_helo is null || !_esmtp)
        { _counters.Count("auth", false); return await ErrorReplyAsync(503, "5.5.1", "Error: send HELO/EHLO first").ConfigureAwait(false); }
        if (_saslUser is not null)
        { _counters.Count("auth", false); return await ErrorReplyAsync(503, "5.5.1", "Error: already authenticated").ConfigureAwait(false); }
        if (_sender is not null)
        { _counters.Count("auth", false); return await ErrorReplyAsync(503, "5.5.1", "Error: MAIL transaction in progress").ConfigureAwait(false); }
        var parts = arg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2)
        { _counters.Count("auth", false); return await ErrorReplyAsync(501, "5.5.4", "Syntax: AUTH mechanism").ConfigureAwait(false); }
        var client = _conn.RemoteAddress;
        // Postfix anvil: smtpd_client_auth_rate_limit (mynetworks exempt, as smtpd_client_event_limit_exceptions).
        if (_svc.AuthRates.Enabled && !_policy.IsTrustedNetwork(client) && !_svc.AuthRates.TryAcquire(client))
        {
            _counters.Count("auth", false);
            Warn($"Authentication rate limit exceeded: {_opt.AuthRateLimit} from {_clientLog} for service smtp");
            return await ErrorReplyAsync(450, "4.7.1", $"Error: too many AUTH commands from {client}").ConfigureAwait(false);
        }
        // A client that failed too often lately is refused without trying its password.
        if (_svc.AuthThrottle?.IsBlocked(client) == true)
        {
            _counters.Count("auth", false);
            Warn($"{_clientLog}: SASL authentication refused: too many failed attempts");
            await ReplyAsync(421, "4.7.0", $"{_opt.MyHostname} Error: too many failed authentication attempts").ConfigureAwait(false);
            return false;
        }
        var name = parts[0].ToUpperInvariant();
        if (!AuthMechanismsOffered().Contains(name, StringComparer.Ordinal))
        { _counters.Count("auth", false); return await ErrorReplyAsync(504, "5.5.4", "Unrecognized authentication type").ConfigureAwait(false); }
        var mech = _svc.Sasl.Create(name, SaslContextForConnection());
        if (mech is null)
        { _counters.Count("auth", false); return await ErrorReplyAsync(504, "5.5.4", "Unrecognized authentication type").ConfigureAwait(false); }

        byte[] response = [];
        if (parts.Length == 2)
        {
            if (mech.ServerFirst)
            { _counters.Count("auth", false); return await ErrorReplyAsync(501, "5.5.4", "Error: initial response not allowed for this mechanism").ConfigureAwait(false); }
            if (!TryDecode(parts[1], out response))
            { _counters.Count("auth", false); return await ErrorReplyAsync(501, "5.5.2", "Cannot decode response").ConfigureAwait(false); }
        }
        // Without an initial response the mechanism's first step yields the first challenge:
        // empty for PLAIN and SCRAM, "Username:" for LOGIN, the timestamp for CRAM-MD5 (RFC 4954 §4).

        _authInProgress = true;
        SaslExchangeResult result;
        try { result = await SaslExchange.RunAsync(mech, response, ChallengeAsync, emptyLineIsEmpty: false, _stopping).ConfigureAwait(false); }
        finally { _authInProgress = false; }
        switch (result.Status)
        {
            case SaslExchangeStatus.Success:
                _saslUser = mech.AuthenticatedUser;
                _svc.AuthThrottle?.RecordSuccess(_conn.RemoteAddress, _saslUser!);
                _saslMethod = name;
                _counters.Count("auth", true);
                await ReplyAsync(235, "2.7.0", "Authentication successful").ConfigureAwait(false);
                return true;
            case SaslExchangeStatus.LineFailed:
                return await AuthLineFailureAsync(result.Line).ConfigureAwait(false);
            case SaslExchangeStatus.Cancelled:
                _counters.Count("auth", false);
                return await ErrorReplyAsync(501, "5.7.0", "Authentication aborted").ConfigureAwait(false);
            case SaslExchangeStatus.BadBase64:
                _counters.Count("auth", false);
                return await ErrorReplyAsync(501, "5.5.2", "Cannot decode response").ConfigureAwait(false);
            case SaslExchangeStatus.TempFail:
                _counters.Count("auth", false);
                Warn($"{_clientLog}: SASL {name} authentication failed: temporary failure");
                return await ErrorReplyAsync(454, "4.7.0", "Temporary authentication failure").ConfigureAwait(false);
            case SaslExchangeStatus.TooManySteps:
                _counters.Count("auth", false);
                return await ErrorReplyAsync(535, "5.7.8", "Error: authentication failed: too many steps").ConfigureAwait(false);
        }
        _counters.Count("auth", false);
        Warn($"{_clientLog}: SASL {name} authentication failed: authentication failure");
        if (_svc.AuthThrottle is { } throttle)
        {
            var verdict = throttle.RecordFailure(_conn.RemoteAddress, mech.AttemptedUser);
            if (verdict.Delay > TimeSpan.Zero) await Task.Delay(verdict.Delay, _svc.Time, _stopping).ConfigureAwait(false);
            if (verdict.Disconnect)
            {
                await ReplyAsync(535, "5.7.8", "Error: authentication failed: authentication failure").ConfigureAwait(false);
                Log($"too many errors after AUTH from {_clientLog}");
                await ReplyAsync(421, "4.7.0", $"{_opt.MyHostname} Error: too many errors").ConfigureAwait(false);
                return false;
            }
        }
        return await ErrorReplyAsync(535, "5.7.8", "Error: authentication failed: authentication failure").ConfigureAwait(false);
    }

    private SaslContext SaslContextForConnection()
    {
        byte[]? exporter = null, endpoint = null;
        if (_conn.Tls is { } tls)
        {
            endpoint = Transport.ChannelBinding.TlsServerEndPoint(tls);
            exporter = Transport.ChannelBinding.TlsExporter(tls);
        }
        return new SaslContext(_opt.MyHostname, exporter, endpoint, _conn.IsTls);
    }

    private async Task<Line> ChallengeAsync(byte[] challenge)
    {
        Write("334 " + Convert.ToBase64String(challenge) + "\r\n");
        await FlushAsync(_stopping).ConfigureAwait(false);
        return await _reader.ReadLineAsync(SmtpdOptions.MaxAuthLine, _opt.Timeout, RejectBareNewline).ConfigureAwait(false);
    }

    private async Task<bool> AuthLineFailureAsync(Line line)
    {
        _counters.Count("auth", false);
        switch (line.Status)
        {
            case LineStatus.Timeout:
                Log($"timeout after AUTH from {_clientLog}");
                await ReplyAsync(421, "4.4.2", $"{_opt.MyHostname} Error: timeout exceeded").ConfigureAwait(false);
                return false;
            case LineStatus.TooLong:
                return await ErrorReplyAsync(500, "5.5.6", "Authentication Exchange line is too long").ConfigureAwait(false);
            case LineStatus.BareLf:
                await ReplyAsync(_opt.BareNewlineRejectCode, "5.5.2", "Error: bare <LF> received").ConfigureAwait(false);
                return false;
            default:
                Log($"lost connection after AUTH from {_clientLog}");
                return false;
        }
    }

    /// <summary>Strict base64 (RFC 4954 §4): "=" is an empty response; anything else invalid is refused.</summary>
    public static bool TryDecode(string text, out byte[] data) => SaslBase64.TryDecode(text, emptyLineIsEmpty: false, out data);
}
