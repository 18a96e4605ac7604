using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.EndToEnd.Tests.Dns;

/// <summary>
/// A line-level SMTP client whose socket is bound to a chosen loopback source address before it
/// connects, so the server sees that address as the client. Every read is bounded by the timeout.
/// Replies are returned as their last line ("450 4.7.25 Client host rejected: ..."), continuation
/// lines dropped (RFC 5321 §4.2.1).
/// </summary>
public sealed class SourceBoundSmtpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly TimeSpan _timeout;

    private SourceBoundSmtpClient(Socket socket, TimeSpan timeout)
    {
        _socket = socket;
        _timeout = timeout;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.ASCII);
    }

    /// <summary>Connects from <paramref name="source"/> and reads the greeting.</summary>
    public static async Task<(SourceBoundSmtpClient Client, string Greeting)> ConnectAsync(IPAddress source, IPEndPoint server, TimeSpan timeout)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            using (var cts = new CancellationTokenSource(timeout))
                await socket.ConnectAsync(server, cts.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var client = new SourceBoundSmtpClient(socket, timeout);
        return (client, await client.ReadReplyAsync());
    }

    public async Task<string> ReadReplyAsync()
    {
        using var cts = new CancellationTokenSource(_timeout);
        while (true)
        {
            var line = await _reader.ReadLineAsync(cts.Token) ?? throw new IOException("connection closed by the server");
            if (line.Length < 4 || line[3] != '-') return line;
        }
    }

    public async Task<string> CommandAsync(string command)
    {
        var bytes = Encoding.ASCII.GetBytes(command + "\r\n");
        using (var cts = new CancellationTokenSource(_timeout))
            await _stream.WriteAsync(bytes, cts.Token);
        return await ReadReplyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.Connected) await CommandAsync("QUIT");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException) { }
        _reader.Dispose();
        await _stream.DisposeAsync();
    }
}
