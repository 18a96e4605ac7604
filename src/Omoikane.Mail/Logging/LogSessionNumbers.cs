namespace Omoikane.Mail.Logging;

/// <summary>
/// Hands out the numbers written in the pid field of a session's lines ("smtpd[N]:"), as Postfix's
/// one process per session does: positive, like pids (counting up from the process id and wrapping
/// at Linux's largest pid_max), never the process id itself (the master's and qmgr's lines), and
/// never a number a live session holds.
/// </summary>
internal sealed class LogSessionNumbers
{
    /// <summary>PID_MAX_LIMIT of Linux: numbers stay within what a pid can be.</summary>
    private const int Limit = 4_194_304;
    private readonly HashSet<int> _live = new();
    private readonly int _reserved;
    private int _last;

    public LogSessionNumbers(int processId)
    {
        _reserved = processId;
        _last = processId % Limit;
    }

    public int Allocate()
    {
        lock (_live)
        {
            // Bounded: at most one pass over the range, and the range is far larger than any session count.
            for (int tries = 0; tries < Limit; tries++)
            {
                _last = _last >= Limit - 1 ? 1 : _last + 1;
                if (_last != _reserved && _live.Add(_last)) return _last;
            }
            return _reserved;
        }
    }

    public void Release(int number)
    {
        if (number == _reserved) return;
        lock (_live) _live.Remove(number);
    }
}
