namespace Omoikane.Mail.Logging;

/// <summary>
/// The lines of one session (an SMTP or POP3 connection, a delivery): all carry the session's own
/// number in the pid field, so that lines of concurrent sessions can be told apart and a reader can
/// follow one by "smtpd[N]". Disposing frees the number.
/// </summary>
public sealed class LogSession : IDisposable
{
    private readonly MailLog _log;
    private int _released;

    internal LogSession(MailLog log, int number) { _log = log; Number = number; }

    /// <summary>The number in the pid field of this session's lines.</summary>
    public int Number { get; }

    public void Write(string syslogName, string program, string text) => _log.Write(syslogName, program, Number, text);
    public void Info(string program, string text) => _log.Write(_log.SyslogName, program, Number, text);
    public void Warning(string program, string text) => _log.Write(_log.SyslogName, program, Number, "warning: " + text);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) _log.ReleaseSession(Number);
    }
}
