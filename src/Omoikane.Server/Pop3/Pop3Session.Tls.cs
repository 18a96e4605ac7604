using System.Security.Authentication;

namespace Omoikane.Server.Pop3;

public sealed partial class Pop3Session
{
    private bool StlsAvailable => _opt.TlsOffered && !_conn.IsTls && _svc.Certificate() is not null;

    /// <summary>pop3d_tls_wrappermode (pop3s): TLS before the greeting.</summary>
    private async Task<bool> StartWrapperTlsAsync()
    {
        var cert = _svc.Certificate();
        if (cert is null)
        {
            Warn($"TLS wrapper mode requested but no certificate is available; disconnecting {Endpoints}");
            _endReason = "TLS unavailable";
            return false;
        }
        try { await _conn.StartTlsAsync(cert, _opt.StartTlsTimeout, _stopping).ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException)
        {
            Log($"pop3-login: Disconnected (TLS handshaking: {ex.Message}): user=<>, {Endpoints}");
            _endReason = "TLS handshake failed";
            _tlsFailed = true;
            return false;
        }
        return true;
    }

    private bool _tlsFailed;

    /// <summary>STLS (RFC 2595 §4): only in AUTHORIZATION, and only once.</summary>
    private async Task<bool> StlsAsync(string arg)
    {
        var cert = _svc.Certificate();
        if (!_opt.TlsOffered || cert is null) return await BadCommandAsync("STLS is not available.").ConfigureAwait(false);
        if (_conn.IsTls) return await BadCommandAsync("TLS is already active.").ConfigureAwait(false);
        if (arg.Trim().Length > 0) return await BadCommandAsync("Syntax: STLS").ConfigureAwait(false);
        Write("+OK Begin TLS negotiation now.\r\n");
        await FlushAsync(_stopping).ConfigureAwait(false);
        try
        {
            // Whatever the client pipelined after STLS came in plaintext: dropped, never run under TLS
            // (RFC 2595 §4 and CVE-2011-0411).
            var discarded = await _conn.StartTlsAsync(cert, _opt.StartTlsTimeout, _stopping).ConfigureAwait(false);
            if (discarded > 0)
                Warn($"pop3-login: discarding {discarded} bytes of plaintext pipelined after STLS: {Endpoints}");
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException)
        {
            if (ex is OperationCanceledException && _stopping.IsCancellationRequested) throw;
            Log($"pop3-login: Disconnected (TLS handshaking: {ex.Message}): user=<>, {Endpoints}");
            _tlsFailed = true;
            _endReason = "TLS handshake failed";
            return false;
        }
        // Forget what was said before TLS.
        _user = null;
        return true;
    }
}
