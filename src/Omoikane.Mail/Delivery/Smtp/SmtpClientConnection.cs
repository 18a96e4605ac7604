using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Omoikane.Mail.Queue;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>
/// One client connection to an SMTP server (RFC 5321): reads replies (single and multi-line, §4.2),
/// sends commands, upgrades to TLS (RFC 3207) and streams a queue file as DATA (LF → CRLF, dot-stuffed,
/// §4.5.2). Every wait is bounded by the timeout of its stage. Broken connections throw
/// <see cref="SmtpClientException"/>; replies, good or bad, are values.
/// </summary>
public sealed class SmtpClientConnection : IAsyncDisposable
{
    /// <summary>RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets; tolerate far longer ones.</summary>
    private const int MaxReplyLine = 8192;
    private const int MaxReplyLines = 200;

    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[MaxReplyLine + 2];
    private int _start, _end;

    public string HostName { get; }
    public IPAddress Address { get; }
    public int Port { get; }
    /// <summary>Extensions from the last EHLO reply (upper-case keyword → parameters); empty after HELO.</summary>
    public Dictionary<string, string> Extensions { get; } = new(StringComparer.OrdinalIgnoreCase);
    public bool IsTls { get; private set; }
    /// <summary>"TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" once TLS is up.</summary>
    public string? TlsDescription { get; private set; }
    /// <summary>When the connection went idle (connection cache).</summary>
    public long IdleSince { get; set; }
    /// <summary>Messages sent over this connection.</summary>
    public int Uses { get; set; }

    /// <summary>"mx.example[192.0.2.1]" as Postfix writes it in texts.</summary>
    public string Peer => $"{HostName}[{Address}]";
    /// <summary>"mx.example[192.0.2.1]:25" as Postfix writes it in relay=.</summary>
    public string Relay => $"{HostName}[{Address}]:{Port}";

    private SmtpClientConnection(Socket socket, string hostName, IPAddress address, int port, TimeProvider time)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        HostName = hostName; Address = address; Port = port; _time = time;
    }

    /// <summary>Connects within the timeout; SocketException on refusal or unreachability, TimeoutException on timeout.</summary>
    public static async Task<SmtpClientConnection> ConnectAsync(string hostName, IPAddress address, int port, TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, cts.Token);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, port), linked.Token).ConfigureAwait(false);
            return new SmtpClientConnection(socket, hostName, address, port, time);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException("Connection timed out");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one command line (CRLF added) and reads its reply.</summary>
    public async Task<SmtpReply> CommandAsync(string line, SmtpClientStage stage, TimeSpan timeout, CancellationToken ct)
    {
        await WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), stage, timeout, ct).ConfigureAwait(false);
        return await ReadReplyAsync(stage, timeout, ct).ConfigureAwait(false);
    }

    /// <summary>EHLO (RFC 5321 §4.1.1.1), keeping the extension list of the reply (each line after the first).</summary>
    public async Task<SmtpReply> EhloAsync(string heloName, TimeSpan timeout, CancellationToken ct)
    {
        await WriteAsync(Encoding.ASCII.GetBytes($"EHLO {heloName}\r\n"), SmtpClientStage.Helo, timeout, ct).ConfigureAwait(false);
        var lines = new List<string>();
        var reply = await ReadReplyAsync(SmtpClientStage.Helo, timeout, ct, lines).ConfigureAwait(false);
        Extensions.Clear();
        if (reply.IsPositive)
        {
            foreach (var l in lines.Skip(1))
            {
                var sp = l.IndexOf(' ');
                Extensions[sp < 0 ? l : l[..sp]] = sp < 0 ? "" : l[(sp + 1)..];
            }
        }
        return reply;
    }

    /// <summary>
    /// Reads one reply: "250-text" lines continue it, "250 text" or "250" ends it; every line carries the
    /// same code (RFC 5321 §4.2.1). Texts are joined with spaces; the enhanced code (RFC 2034 §4) is the first line's.
    /// </summary>
    public async Task<SmtpReply> ReadReplyAsync(SmtpClientStage stage, TimeSpan timeout, CancellationToken ct, List<string>? lines = null)
    {
        using var cts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, cts.Token);
        try
        {
            SmtpReply? first = null;
            var text = new StringBuilder();
            for (var n = 0; n < MaxReplyLines; n++)
            {
                var line = await ReadLineAsync(stage, linked.Token).ConfigureAwait(false);
                if (line.Length < 3 || !char.IsAsciiDigit(line[0]) || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2])
                    || line[0] is < '2' or > '5' || (line.Length > 3 && line[3] is not (' ' or '-')))
                    throw SmtpClientException.Protocol(stage, "malformed reply");
                var last = line.Length == 3 || line[3] == ' ';
                var body = line.Length > 4 ? line[4..] : "";
                lines?.Add(body);
                var reply = SmtpReply.Parse(line[..3] + " " + body);
                if (first is { } f && f.Code != reply.Code) throw SmtpClientException.Protocol(stage, "reply codes differ between lines");
                first ??= reply;
                var part = n == 0 ? reply.Text : (reply.Enhanced == first.Value.Enhanced && reply.Enhanced is not null ? reply.Text : body);
                if (part.Length > 0) text.Append(text.Length > 0 ? " " : "").Append(part);
                if (last) return new SmtpReply(first.Value.Code, first.Value.Enhanced, text.ToString());
            }
            throw SmtpClientException.Protocol(stage, "too many reply lines");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw SmtpClientException.Timeout(stage);
        }
    }

    /// <summary>
    /// TLS handshake after "220 Ready to start TLS" (RFC 3207 §4). Certificates are not verified (opportunistic
    /// TLS, smtp_tls_security_level may/encrypt); the EHLO information is discarded by the caller (§4.2).
    /// </summary>
    public async Task StartTlsAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (_end > _start) throw SmtpClientException.Protocol(SmtpClientStage.StartTls, "data received before TLS handshake");
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, cts.Token);
        try
        {
            await ssl.AuthenticateAsClientAsync(TlsPolicy.Apply(new SslClientAuthenticationOptions
            {
                TargetHost = IPAddress.TryParse(HostName, out _) ? "" : HostName,
            }), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { throw SmtpClientException.Timeout(SmtpClientStage.StartTls); }
        catch (Exception e) when (e is AuthenticationException or IOException) { throw SmtpClientException.Lost(SmtpClientStage.StartTls, e); }
        _stream = ssl;
        IsTls = true;
        TlsDescription = $"{ProtocolName(ssl.SslProtocol)} with cipher {ssl.NegotiatedCipherSuite}";
        Extensions.Clear();
    }

    private static string ProtocolName(SslProtocols p) => p switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => p.ToString(),
    };

    /// <summary>
    /// Streams the message content of a queue file after "354": every LF becomes CRLF, a line starting with "."
    /// gets another "." (RFC 5321 §4.5.2), a last line without LF is ended, then "." CRLF (§4.1.1.4).
    /// Each write is bounded by smtp_data_xfer_timeout; the final reply by smtp_data_done_timeout.
    /// </summary>
    public async Task<SmtpReply> SendMessageAsync(QueueMessageFile message, TimeSpan xferTimeout, TimeSpan doneTimeout, CancellationToken ct)
    {
        const int Chunk = 64 * 1024;
        var input = ArrayPool<byte>.Shared.Rent(Chunk);
        var output = ArrayPool<byte>.Shared.Rent(Chunk * 2 + 8);
        try
        {
            await using var fs = new FileStream(message.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
            fs.Seek(message.ContentOffset, SeekOrigin.Begin);
            var left = message.ContentLength;
            var lineStart = true;
            while (left > 0)
            {
                var n = await fs.ReadAsync(input.AsMemory(0, (int)Math.Min(Chunk, left)), ct).ConfigureAwait(false);
                if (n == 0) throw new IOException("queue file shorter than its recorded content length");
                left -= n;
                var o = 0;
                for (var i = 0; i < n; i++)
                {
                    var b = input[i];
                    if (lineStart && b == (byte)'.') output[o++] = (byte)'.';
                    if (b == (byte)'\n') { output[o++] = (byte)'\r'; output[o++] = (byte)'\n'; lineStart = true; }
                    else { output[o++] = b; lineStart = false; }
                }
                await WriteAsync(output.AsMemory(0, o), SmtpClientStage.EndOfData, xferTimeout, ct).ConfigureAwait(false);
            }
            var end = lineStart ? ".\r\n"u8.ToArray() : "\r\n.\r\n"u8.ToArray();
            await WriteAsync(end, SmtpClientStage.EndOfData, xferTimeout, ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
        return await ReadReplyAsync(SmtpClientStage.EndOfData, doneTimeout, ct).ConfigureAwait(false);
    }

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes, SmtpClientStage stage, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, cts.Token);
        try
        {
            await _stream.WriteAsync(bytes, linked.Token).ConfigureAwait(false);
            await _stream.FlushAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { throw SmtpClientException.Timeout(stage); }
        catch (IOException e) { throw SmtpClientException.Lost(stage, e); }
        catch (ObjectDisposedException e) { throw SmtpClientException.Lost(stage, e); }
    }

    /// <summary>A reply line ends with CRLF; a bare LF is tolerated as a line end (as Postfix's client does).</summary>
    private async Task<string> ReadLineAsync(SmtpClientStage stage, CancellationToken ct)
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var len = lf > 0 && span[lf - 1] == '\r' ? lf - 1 : lf;
                var line = Encoding.UTF8.GetString(span[..len]);
                _start += lf + 1;
                return line;
            }
            if (_end - _start >= MaxReplyLine) throw SmtpClientException.Protocol(stage, "reply line too long");
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int read;
            try { read = await _stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false); }
            catch (IOException e) { throw SmtpClientException.Lost(stage, e); }
            catch (ObjectDisposedException e) { throw SmtpClientException.Lost(stage, e); }
            if (read == 0) throw SmtpClientException.Lost(stage);
            _end += read;
        }
    }

    /// <summary>True when the peer has sent nothing unasked and has not closed (a cached connection still usable).</summary>
    public bool LooksAlive()
    {
        try { return _socket.Connected && !(_socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0) && _end == _start; }
        catch (ObjectDisposedException) { return false; }
        catch (SocketException) { return false; }
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
        _socket.Dispose();
    }
}
