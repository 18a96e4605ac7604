using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Logging;

/// <summary>
/// Writes one line per event in Postfix's maillog format
/// ("Nov 28 02:24:06 host postfix-omoikane/smtpd[1234]: connect from unknown[192.0.2.1]"),
/// to stderr and to maillog_file, so pflogsumm and fail2ban's postfix filters read it unchanged.
/// Lines are queued and written by one background writer (no lock on the session's path). Every line
/// is made printable there (<see cref="LogText.Printable"/>): no caller can write a raw control byte.
/// Lines of the master and qmgr carry the process id; those of a session carry the session's own
/// number (<see cref="BeginSession"/>).
/// </summary>
public sealed class MailLog : IAsyncDisposable
{
    private readonly string _syslogName;
    private readonly string _host;
    private readonly int _pid = Environment.ProcessId;
    private readonly LogSessionNumbers _sessions = new(Environment.ProcessId);
    // Lines go to a writer thread of its own, which blocks while there is nothing to write and
    // writes synchronously: logging never wakes or occupies a thread-pool thread.
    private readonly BatchQueue<string> _lines = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TextWriter? _stderr;
    private readonly string? _path;
    private readonly TimeProvider _time;

    public MailLog(string syslogName, string host, string? path, bool toStderr = true, TimeProvider? time = null)
    {
        _syslogName = syslogName;
        _host = host.Split('.')[0];
        _path = string.IsNullOrEmpty(path) ? null : path;
        _stderr = toStderr ? Console.Error : null;
        _time = time ?? TimeProvider.System;
        new Thread(WriteLoop) { IsBackground = true, Name = "omoikane log" }.Start();
    }

    /// <summary>A log that writes nowhere (CLI commands that only read).</summary>
    public static MailLog Null => new("postfix-omoikane", "localhost", null, toStderr: false);

    /// <summary>The syslog name of this log ("postfix-omoikane"); a service may log under its own (submission's).</summary>
    public string SyslogName => _syslogName;

    public void Info(string program, string text) => Write(_syslogName, program, text);
    public void Warning(string program, string text) => Write(_syslogName, program, "warning: " + text);
    public void Error(string program, string text) => Write(_syslogName, program, "error: " + text);

    /// <summary>Writes with an explicit syslog name (master.cf "-o syslog_name=postfix/submission").</summary>
    public void Write(string syslogName, string program, string text) => Write(syslogName, program, _pid, text);

    /// <summary>Writes with the number of a session in the pid field (see <see cref="LogSession"/>).</summary>
    public void Write(string syslogName, string program, int pid, string text)
    {
        var now = _time.GetLocalNow();
        // RFC 3164 timestamp as syslog writes it: "Nov  8 02:24:06".
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{now.ToString("MMM", CultureInfo.InvariantCulture)} {now.Day,2} {now:HH:mm:ss} {_host} {syslogName}/{program}[{pid}]: {text}");
        _lines.TryAdd(line);
    }

    /// <summary>Starts the lines of a session: a number of its own, unique among live sessions, until disposed.</summary>
    public LogSession BeginSession() => new(this, _sessions.Allocate());

    internal void ReleaseSession(int number) => _sessions.Release(number);

    private void WriteLoop()
    {
        StreamWriter? file = null;
        try
        {
            if (_path is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
                file = new StreamWriter(new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete), new UTF8Encoding(false));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"omoikane: cannot open maillog_file {_path}: {ex.Message}");
        }
        var batch = new List<string>();
        var sb = new StringBuilder();
        try
        {
            while (_lines.WaitForItems())
            {
                _lines.TakeAll(ref batch);
                sb.Clear();
                foreach (var line in batch) sb.Append(LogText.Printable(line)).Append('\n');
                batch.Clear();
                var chunk = sb.ToString();
                try
                {
                    if (file is not null) { file.Write(chunk); file.Flush(); }
                    if (_stderr is not null) { _stderr.Write(chunk); _stderr.Flush(); }
                }
                catch (IOException) { }
                // Let the next lines gather: under load one wake-up and one write per few
                // milliseconds instead of one per line.
                if (!_lines.IsClosed) Thread.Sleep(2);
            }
            file?.Dispose();
        }
        finally { _stopped.TrySetResult(); }
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Close();
        await _stopped.Task.ConfigureAwait(false);
    }
}
