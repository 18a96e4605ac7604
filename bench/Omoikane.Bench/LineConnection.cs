using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Bench;

/// <summary>
/// One client connection speaking a CRLF line protocol (SMTP or POP3). Reads into a
/// fixed buffer and hands out lines without copying; every read has a timeout.
/// </summary>
public sealed class LineConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buf = new byte[64 * 1024];
    private int _start, _end;                  // unread bytes are _buf[_start.._end)
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _cts = new();

    public long BytesRead { get; private set; }

    private LineConnection(Socket socket, TimeSpan timeout)
    {
        _socket = socket;
        _timeout = timeout;
    }

    public static async Task<LineConnection> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(host), port), cts.Token);
            return new LineConnection(socket, timeout);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends bytes in full.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        ArmTimer();
        while (!data.IsEmpty)
        {
            int n = await _socket.SendAsync(data, SocketFlags.None, _cts.Token);
            data = data[n..];
        }
    }

    public ValueTask SendAsync(string ascii) => SendAsync(Encoding.ASCII.GetBytes(ascii));

    /// <summary>
    /// Reads one line; the returned range (without CRLF) indexes <see cref="Buffer"/> and is
    /// valid until the next read.
    /// </summary>
    public async ValueTask<(int Start, int Length)> ReadLineAsync()
    {
        while (true)
        {
            int lf = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                int s = _start;
                int len = lf - s;
                if (len > 0 && _buf[lf - 1] == '\r') len--;
                _start = lf + 1;
                return (s, len);
            }
            if (_start > 0)
            {
                // Keep the partial line at the front of the buffer.
                Array.Copy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buf.Length) throw new IOException("line longer than 64 KiB");
            ArmTimer();
            int n = await _socket.ReceiveAsync(_buf.AsMemory(_end), SocketFlags.None, _cts.Token);
            if (n == 0) throw new IOException("connection closed by server");
            _end += n;
            BytesRead += n;
        }
    }

    public byte[] Buffer => _buf;

    /// <summary>Reads a (possibly multi-line) SMTP reply; returns its code and last line.</summary>
    public async ValueTask<(int Code, string Text)> ReadSmtpReplyAsync(List<string>? lines = null)
    {
        while (true)
        {
            var (s, len) = await ReadLineAsync();
            if (len < 3) throw new IOException("malformed SMTP reply");
            int code = (_buf[s] - '0') * 100 + (_buf[s + 1] - '0') * 10 + (_buf[s + 2] - '0');
            bool more = len > 3 && _buf[s + 3] == '-';
            if (lines != null || !more)
            {
                string text = Encoding.ASCII.GetString(_buf, s, len);
                lines?.Add(text);
                if (!more) return (code, text);
            }
        }
    }

    /// <summary>
    /// Reads a greeting: an SMTP reply (returns its code) or a POP3 "+OK" line (returns 1).
    /// </summary>
    public async ValueTask<(int Code, string Text)> ReadSmtpOrPop3GreetingAsync()
    {
        if (_end > _start && _buf[_start] == '+' || await PeekAsync() == '+')
        {
            var (ok, text) = await ReadPop3StatusAsync();
            return (ok ? 1 : 0, text);
        }
        return await ReadSmtpReplyAsync();
    }

    private async ValueTask<byte> PeekAsync()
    {
        if (_end == _start)
        {
            _start = _end = 0;
            ArmTimer();
            int n = await _socket.ReceiveAsync(_buf.AsMemory(), SocketFlags.None, _cts.Token);
            if (n == 0) throw new IOException("connection closed by server");
            _end = n;
            BytesRead += n;
        }
        return _buf[_start];
    }

    /// <summary>Reads a single-line POP3 status; true for +OK.</summary>
    public async ValueTask<(bool Ok, string Text)> ReadPop3StatusAsync()
    {
        var (s, len) = await ReadLineAsync();
        string text = Encoding.ASCII.GetString(_buf, s, len);
        return (text.StartsWith("+OK", StringComparison.Ordinal), text);
    }

    /// <summary>
    /// Reads a POP3 multi-line body up to the terminating "." line. Calls
    /// <paramref name="onLine"/> for each line (dot-unstuffing is not needed for counting).
    /// Returns the number of lines.
    /// </summary>
    public async ValueTask<int> ReadPop3MultilineAsync(Action<int, int>? onLine = null)
    {
        int lines = 0;
        while (true)
        {
            var (s, len) = await ReadLineAsync();
            if (len == 1 && _buf[s] == '.') return lines;
            onLine?.Invoke(s, len);
            lines++;
        }
    }

    /// <summary>Restarts the per-operation timeout.</summary>
    private void ArmTimer()
    {
        if (!_cts.TryReset()) throw new TimeoutException("server did not answer in time");
        _cts.CancelAfter(_timeout);
    }

    public ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch { /* already gone */ }
        _socket.Dispose();
        _cts.Dispose();
        return ValueTask.CompletedTask;
    }
}
