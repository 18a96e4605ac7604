using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.EndToEnd.Tests.Support;

/// <summary>A byte-exact SMTP client for malformed and pipelined input; every read is bounded in time.</summary>
public sealed class RawSmtpClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly byte[] _buf = new byte[65536];
    private readonly StringBuilder _pending = new();

    private RawSmtpClient(TcpClient tcp) { _tcp = tcp; _stream = tcp.GetStream(); }

    public static async Task<RawSmtpClient> ConnectAsync(IPEndPoint server, IPAddress? source = null)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork);
        if (source is not null) tcp.Client.Bind(new IPEndPoint(source, 0));
        await tcp.ConnectAsync(server).WaitAsync(TimeSpan.FromSeconds(10));
        return new RawSmtpClient(tcp);
    }

    /// <summary>The underlying stream (to start TLS over it).</summary>
    public Stream Stream => _stream;

    /// <summary>Starts TLS on the connection (after "220 Ready to start TLS", or at once for implicit TLS).</summary>
    public async Task StartTlsAsync()
    {
        var tls = new System.Net.Security.SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("mail.example.test").WaitAsync(TimeSpan.FromSeconds(10));
        _stream = tls;
        _pending.Clear();
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] data) => await _stream.WriteAsync(data).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Reads one complete reply (all "NNN-" lines and the final "NNN " line); returns its lines.</summary>
    public async Task<List<string>> ReadReplyAsync(int timeoutMs = 10000)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(timeoutMs);
            if (line is null) throw new IOException("connection closed; got: " + string.Join(" / ", lines));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-') return lines;
        }
    }

    /// <summary>The final line of the next reply ("250 2.0.0 Ok").</summary>
    public async Task<string> ReplyAsync(int timeoutMs = 10000) => (await ReadReplyAsync(timeoutMs))[^1];

    public async Task<string> CommandAsync(string command)
    {
        await SendAsync(command + "\r\n");
        return await ReplyAsync();
    }

    public async Task<string?> ReadLineAsync(int timeoutMs = 10000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            var s = _pending.ToString();
            var i = s.IndexOf("\r\n", StringComparison.Ordinal);
            if (i >= 0)
            {
                _pending.Remove(0, i + 2);
                return s[..i];
            }
            var left = (int)(deadline - Environment.TickCount64);
            if (left <= 0) throw new TimeoutException("no reply; buffered: " + s);
            int n;
            try { n = await _stream.ReadAsync(_buf).AsTask().WaitAsync(TimeSpan.FromMilliseconds(left)); }
            catch (IOException) { n = 0; }
            if (n == 0) return null;
            _pending.Append(Encoding.UTF8.GetString(_buf, 0, n));
        }
    }

    /// <summary>True when the server closed the connection (reads return end of stream) within the time.</summary>
    public async Task<bool> IsClosedAsync(int timeoutMs = 5000)
    {
        try { return await ReadLineAsync(timeoutMs) is null; }
        catch (TimeoutException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        try { _tcp.Client.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _tcp.Dispose();
        await Task.CompletedTask;
    }
}
