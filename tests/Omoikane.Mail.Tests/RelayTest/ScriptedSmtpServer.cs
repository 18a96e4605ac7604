using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Mail.Tests.RelayTest;

/// <summary>
/// A tiny scriptable SMTP server on 127.0.0.1:0 for the relay tester: answers per
/// <see cref="ScriptedSmtpBehavior"/> and records the commands, connections and messages it received.
/// Every read has a timeout and every loop a bound, so a broken client cannot hang a test.
/// </summary>
public sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private const int MaxCommands = 1000;
    private const int MaxDataLines = 1000;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _sessions = new();
    private readonly Task _accepting;
    private int _connections;

    public ScriptedSmtpBehavior Behavior { get; }
    public int Port { get; }
    public int Connections => Volatile.Read(ref _connections);
    public ConcurrentQueue<string> Commands { get; } = new();
    public ConcurrentQueue<string> Messages { get; } = new();

    public ScriptedSmtpServer(ScriptedSmtpBehavior behavior)
    {
        Behavior = behavior;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Count(string verb) => Commands.Count(c => c.StartsWith(verb, StringComparison.OrdinalIgnoreCase));

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var n = Interlocked.Increment(ref _connections);
            _sessions.Add(Task.Run(() => ServeAsync(client)));
            if (n >= Behavior.MaxConnections)
            {
                _listener.Stop();
                return;
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1);
            if (Behavior.Silent)
            {
                await ReadLineAsync(reader);
                return;
            }
            if (!await ReplyAsync(stream, Behavior.Greeting)) return;
            string from = "";
            for (var n = 0; n < MaxCommands; n++)
            {
                var line = await ReadLineAsync(reader);
                if (line is null) return;
                Commands.Enqueue(line);
                var verb = (line.Length >= 4 ? line[..4] : line).ToUpperInvariant();
                var arg = line.Length > 5 ? line[5..] : "";
                string? reply;
                switch (verb)
                {
                    case "EHLO": reply = Behavior.Ehlo(arg); break;
                    case "HELO": reply = $"250 {ScriptedSmtpBehavior.Name}"; break;
                    case "MAIL":
                        from = Path(line);
                        reply = Behavior.Mail(from);
                        break;
                    case "RCPT":
                        reply = Behavior.Rcpt(from, Path(line));
                        if (reply is not null && Behavior.CloseAfterRcpt)
                        {
                            await ReplyAsync(stream, reply);
                            return;
                        }
                        break;
                    case "DATA":
                        if (!await ReplyAsync(stream, Behavior.Data)) return;
                        if (Behavior.Data?.StartsWith("354") != true) continue;
                        var content = new StringBuilder();
                        for (var i = 0; i < MaxDataLines; i++)
                        {
                            var d = await ReadLineAsync(reader);
                            if (d is null) return;
                            if (d == ".") break;
                            content.Append(d.StartsWith('.') ? d[1..] : d).Append('\n');
                        }
                        Messages.Enqueue(content.ToString());
                        reply = Behavior.EndOfData;
                        break;
                    case "RSET": reply = "250 2.0.0 Ok"; break;
                    case "QUIT":
                        await ReplyAsync(stream, "221 2.0.0 Bye");
                        return;
                    default: reply = "502 5.5.2 Error: command not recognized"; break;
                }
                if (!await ReplyAsync(stream, reply)) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private static string Path(string line)
    {
        var open = line.IndexOf('<');
        var close = line.LastIndexOf('>');
        return open >= 0 && close > open ? line[(open + 1)..close] : "";
    }

    private async Task<string?> ReadLineAsync(StreamReader reader)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(ReadTimeout);
        return await reader.ReadLineAsync(timeout.Token);
    }

    /// <summary>Writes the reply; false (and nothing written) for null, which means "drop the connection".</summary>
    private async Task<bool> ReplyAsync(NetworkStream stream, string? reply)
    {
        if (reply is null) return false;
        var bytes = Encoding.ASCII.GetBytes(reply.Replace("\r\n", Behavior.LineEnd) + Behavior.LineEnd);
        if (Behavior.Trickle)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                await stream.WriteAsync(bytes.AsMemory(i, 1), _stop.Token);
                await stream.FlushAsync(_stop.Token);
            }
        }
        else await stream.WriteAsync(bytes, _stop.Token);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        await Task.WhenAny(Task.WhenAll(_sessions), Task.Delay(TimeSpan.FromSeconds(10)));
        _stop.Dispose();
    }
}
