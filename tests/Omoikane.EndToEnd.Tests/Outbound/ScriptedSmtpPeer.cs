using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>
/// A minimal SMTP server for tests whose RCPT reply is chosen per connection by the test
/// (e.g. "451 4.3.0 try later" on the first connection, "250 2.1.5 Ok" afterwards). It records each
/// message received (the DATA as it arrived on the wire, dot-stuffing undone, CRLF kept).
/// </summary>
public sealed class ScriptedSmtpPeer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<int, string> _rcptReply;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _connections;

    public ConcurrentQueue<string> Messages { get; } = new();
    public ConcurrentQueue<string> Commands { get; } = new();
    public int Connections => Volatile.Read(ref _connections);
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public ScriptedSmtpPeer(string address, int port, Func<int, string> rcptReply)
    {
        _rcptReply = rcptReply;
        _listener = new TcpListener(IPAddress.Parse(address), port);
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            var index = Interlocked.Increment(ref _connections) - 1;
            _ = Task.Run(() => ServeAsync(client, index));
        }
    }

    private async Task ServeAsync(TcpClient client, int index)
    {
        using var _ = client;
        var stream = client.GetStream();
        var reader = new StreamReader(stream, new UTF8Encoding(false));
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        try
        {
            await writer.WriteLineAsync("220 scripted.test ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                Commands.Enqueue(line);
                var verb = line.Split(' ', ':')[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO": await writer.WriteAsync("250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"); break;
                    case "HELO": await writer.WriteLineAsync("250 scripted.test"); break;
                    case "MAIL": await writer.WriteLineAsync("250 2.1.0 Ok"); break;
                    case "RCPT": await writer.WriteLineAsync(_rcptReply(index)); break;
                    case "RSET": await writer.WriteLineAsync("250 2.0.0 Ok"); break;
                    case "DATA":
                        await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                        var sb = new StringBuilder();
                        while (await reader.ReadLineAsync(_stop.Token) is { } l && l != ".")
                            sb.Append(l.StartsWith('.') ? l[1..] : l).Append("\r\n");
                        Messages.Enqueue(sb.ToString());
                        await writer.WriteLineAsync($"250 2.0.0 Ok: queued as SCRIPTED{Messages.Count}");
                        break;
                    case "QUIT": await writer.WriteLineAsync("221 2.0.0 Bye"); return;
                    default: await writer.WriteLineAsync("502 5.5.2 Error: command not recognized"); break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop; } catch (Exception) { }
    }
}
