using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Server.Tests.Pop3;

/// <summary>A byte-level POP3 client for malformed, out-of-state and pipelined input. Every read has a deadline.</summary>
internal sealed class RawPop3Client : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly List<byte> _pending = new();

    private RawPop3Client(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawPop3Client> ConnectAsync(int port, bool implicitTls = false)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var client = new RawPop3Client(tcp);
        if (implicitTls) await client.StartTlsAsync();
        return client;
    }

    public async Task StartTlsAsync()
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(ReadTimeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cts.Token);
        _pending.Clear();
        _stream = tls;
    }

    public async Task SendAsync(string text) => await SendBytesAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendBytesAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends one command line (CRLF added) and reads the one-line answer.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadLineAsync();
    }

    /// <summary>One line without its CRLF; null at end of stream.</summary>
    public async Task<string?> TryReadLineAsync()
    {
        var bytes = await ReadRawLineAsync();
        return bytes is null ? null : Encoding.UTF8.GetString(bytes, 0, bytes.Length - 2);
    }

    public async Task<string> ReadLineAsync() => await TryReadLineAsync() ?? throw new IOException("connection closed by the server");

    /// <summary>One line with its CRLF, as bytes; null at end of stream.</summary>
    public async Task<byte[]?> ReadRawLineAsync()
    {
        using var cts = new CancellationTokenSource(ReadTimeout);
        var buf = new byte[4096];
        while (true)
        {
            for (int i = 1; i < _pending.Count; i++)
            {
                if (_pending[i - 1] == '\r' && _pending[i] == '\n')
                {
                    var line = _pending.GetRange(0, i + 1).ToArray();
                    _pending.RemoveRange(0, i + 1);
                    return line;
                }
            }
            int n;
            try { n = await _stream.ReadAsync(buf, cts.Token); }
            catch (IOException) { return null; }
            if (n == 0) return null;
            _pending.AddRange(buf.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>The body of a multi-line response as received (still dot-stuffed), up to and without ".\r\n".</summary>
    public async Task<byte[]> ReadMultilineRawAsync()
    {
        var body = new List<byte>();
        for (int lines = 0; lines < 1_000_000; lines++)
        {
            var line = await ReadRawLineAsync() ?? throw new IOException("connection closed inside a multi-line response");
            if (line.Length == 3 && line[0] == '.') return body.ToArray();
            body.AddRange(line);
        }
        throw new InvalidOperationException("multi-line response too long");
    }

    public async Task<string[]> ReadMultilineAsync()
    {
        var text = Encoding.UTF8.GetString(await ReadMultilineRawAsync());
        return text.Length == 0 ? [] : text[..^2].Split("\r\n");
    }

    /// <summary>True when the server closes the connection within the read timeout (any bytes before are skipped).</summary>
    public async Task<bool> IsClosedByServerAsync()
    {
        for (int i = 0; i < 10_000; i++)
            if (await ReadRawLineAsync() is null) return true;
        return false;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
