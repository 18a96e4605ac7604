using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.RelayTest;

/// <summary>
/// The relay tester's own minimal SMTP client: one TCP connection, one command at a time, no pipelining
/// and no STARTTLS. Commands end in CRLF (RFC 5321 §2.3.8); replies must too — a bare LF or CR is a
/// protocol error, never a line end. Each reply wait is bounded by the command timeout.
/// </summary>
internal sealed class RelaySmtpClient : IAsyncDisposable
{
    /// <summary>RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets; tolerate four times that.</summary>
    public const int MaxReplyLine = 2048;
    public const int MaxReplyLines = 100;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly TimeProvider _time;
    private readonly TimeSpan _commandTimeout;
    private readonly byte[] _buffer = new byte[4096];
    private int _start, _end;

    public IPAddress RemoteAddress { get; }

    private RelaySmtpClient(TcpClient tcp, IPAddress remote, TimeProvider time, TimeSpan commandTimeout)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        RemoteAddress = remote;
        _time = time;
        _commandTimeout = commandTimeout;
    }

    /// <summary>
    /// Connects to the first of <paramref name="addresses"/> that answers, within the connect timeout overall;
    /// from <paramref name="source"/> when given (only addresses of its family are tried).
    /// </summary>
    public static async Task<RelaySmtpClient> ConnectAsync(IReadOnlyList<IPAddress> addresses, IPAddress? source, int port, TimeSpan connectTimeout, TimeSpan commandTimeout, TimeProvider time, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(connectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        string? last = null;
        foreach (var address in addresses)
        {
            if (source is not null && source.AddressFamily != address.AddressFamily)
            {
                last ??= $"no {address.AddressFamily} source address (--source {source})";
                continue;
            }
            var tcp = new TcpClient(address.AddressFamily) { NoDelay = true };
            try
            {
                if (source is not null) tcp.Client.Bind(new IPEndPoint(source, 0));
                await tcp.ConnectAsync(address, port, linked.Token).ConfigureAwait(false);
                return new RelaySmtpClient(tcp, address, time, commandTimeout);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                tcp.Dispose();
                throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, "timed out");
            }
            catch (SocketException e)
            {
                tcp.Dispose();
                last = e.Message;
            }
        }
        throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, last ?? "no address");
    }

    /// <summary>Sends one command line (without CRLF) and reads its reply.</summary>
    public async Task<SmtpReply> CommandAsync(string line, CancellationToken ct)
    {
        await WriteAsync(line + "\r\n", ct).ConfigureAwait(false);
        return await ReadReplyAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Sends the message content, dot-stuffed (RFC 5321 §4.5.2), and the end of data "CRLF.CRLF" (§4.1.1.4).</summary>
    public async Task<SmtpReply> SendDataAsync(string content, CancellationToken ct)
    {
        var sb = new StringBuilder(content.Length + 16);
        foreach (var l in content.Split("\r\n"))
            sb.Append(l.StartsWith('.') ? "." : "").Append(l).Append("\r\n");
        sb.Append(".\r\n");
        await WriteAsync(sb.ToString(), ct).ConfigureAwait(false);
        return await ReadReplyAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one reply, single- or multi-line (RFC 5321 §4.2: "250-text" continues, "250 text" or "250"
    /// ends; every line carries the same code, §4.2.1). The text of the lines is joined with spaces;
    /// the enhanced code (RFC 2034) is taken from the first line.
    /// </summary>
    public async Task<SmtpReply> ReadReplyAsync(CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_commandTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            SmtpReply? first = null;
            var text = new StringBuilder();
            for (var n = 0; n < MaxReplyLines; n++)
            {
                var line = await ReadLineAsync(linked.Token).ConfigureAwait(false);
                if (line.Length < 3 || !line.Take(3).All(char.IsAsciiDigit) || line[0] is < '2' or > '5'
                    || (line.Length > 3 && line[3] is not (' ' or '-')))
                    throw RelaySmtpException.Create(RelaySmtpFailure.MalformedReply, Printable(line));
                var reply = SmtpReply.Parse(line.Length > 3 && line[3] == '-' ? line[..3] + " " + line[4..] : line);
                if (first is { } f && f.Code != reply.Code)
                    throw RelaySmtpException.Create(RelaySmtpFailure.MalformedReply, "reply codes differ between lines");
                first ??= reply;
                if (reply.Text.Length > 0) text.Append(text.Length > 0 ? " " : "").Append(reply.Text);
                if (line.Length == 3 || line[3] == ' ')
                    return new SmtpReply(first.Value.Code, first.Value.Enhanced, text.ToString());
            }
            throw RelaySmtpException.Create(RelaySmtpFailure.TooManyLines);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw RelaySmtpException.Create(RelaySmtpFailure.Timeout);
        }
    }

    private async Task WriteAsync(string text, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_commandTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        var bytes = Encoding.UTF8.GetBytes(text);
        try
        {
            await _stream.WriteAsync(bytes, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw RelaySmtpException.Create(RelaySmtpFailure.Timeout);
        }
        catch (IOException e)
        {
            throw RelaySmtpException.Create(RelaySmtpFailure.ConnectionClosed, inner: e);
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var lf = span.IndexOfAny((byte)'\n', (byte)'\r');
            if (lf >= 0)
            {
                // Only CR LF ends a line; a CR must be followed by LF and an LF preceded by CR.
                if (span[lf] == '\n') throw RelaySmtpException.Create(RelaySmtpFailure.BareLineFeed);
                if (lf + 1 < span.Length)
                {
                    if (span[lf + 1] != '\n') throw RelaySmtpException.Create(RelaySmtpFailure.BareLineFeed);
                    var line = Encoding.UTF8.GetString(span[..lf]);
                    _start += lf + 2;
                    return line;
                }
            }
            if (_end - _start >= MaxReplyLine) throw RelaySmtpException.Create(RelaySmtpFailure.LineTooLong);
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw RelaySmtpException.Create(RelaySmtpFailure.ConnectionClosed, inner: e);
            }
            if (read == 0) throw RelaySmtpException.Create(RelaySmtpFailure.ConnectionClosed);
            _end += read;
        }
    }

    private static string Printable(string s) => new(s.Take(80).Select(c => c is < ' ' or > '~' ? '?' : c).ToArray());

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
