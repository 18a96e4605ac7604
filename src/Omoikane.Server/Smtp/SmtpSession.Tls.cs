namespace Omoikane.Server.Smtp;

public sealed partial class SmtpSession
{
    /// <summary>STARTTLS (RFC 3207).</summary>
    private async Task<bool> StartTlsAsync(string arg)
    {
        var cert = _svc.Certificate();
        if (!_opt.TlsOffered || cert is null)
        { _counters.Count("starttls", false); return await ErrorReplyAsync(502, "5.5.1", "Error: command not implemented").ConfigureAwait(false); }
        if (_conn.IsTls)
        { _counters.Count("starttls", false); return await ErrorReplyAsync(554, "5.5.1", "Error: TLS already active").ConfigureAwait(false); }
        if (arg.Trim().Length > 0)
        { _counters.Count("starttls", false); return await ErrorReplyAsync(501, "5.5.4", "Syntax: STARTTLS").ConfigureAwait(false); }
        if (_sender is not null)
        { _counters.Count("starttls", false); return await ErrorReplyAsync(503, "5.5.1", "Error: MAIL transaction in progress").ConfigureAwait(false); }
        _counters.Count("starttls", true);
        await ReplyAsync(220, "2.0.0", "Ready to start TLS").ConfigureAwait(false);
        await FlushAsync(_stopping).ConfigureAwait(false);
        try
        {
            // Anything pipelined after STARTTLS was sent in plaintext: it is dropped, never executed
            // inside the TLS session (CVE-2011-0411).
            var discarded = _conn.DiscardBufferedInput();
            if (discarded > 0)
                Warn($"{_clientLog}: discarding {discarded} bytes of plaintext pipelined after STARTTLS");
            await _conn.StartTlsAsync(cert, _opt.StartTlsTimeout, _stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            Log($"SSL_accept error from {_clientLog}: {ex.Message}");
            Log($"lost connection after STARTTLS from {_clientLog}");
            return false;
        }
        Log($"Anonymous TLS connection established from {_clientLog}: {_conn.TlsDescription}");
        // RFC 3207 §4.2: forget everything learnt before TLS.
        ResetTransaction();
        _helo = null;
        _esmtp = false;
        _saslUser = null;
        _saslMethod = null;
        return true;
    }
}
