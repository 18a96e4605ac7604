using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Omoikane.Server.Transport;

/// <summary>
/// One accepted connection as the protocols see it: a PipeReader/PipeWriter over the socket (or over TLS),
/// and the endpoints. Protocol code never touches the socket (Kestrel SocketConnection/ConnectionContext).
/// </summary>
public sealed class Connection : IAsyncDisposable
{
    private static long _nextId;
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private Stream _stream;
    private SslStream? _tls;

    public Connection(Socket socket)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _network = new NetworkStream(socket, ownsSocket: false);
        _stream = _network;
        Id = Interlocked.Increment(ref _nextId);
        RemoteEndPoint = (IPEndPoint)socket.RemoteEndPoint!;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        CreatePipes();
    }

    public long Id { get; }
    /// <summary>
    /// The connection was accepted while its service was at its process limit (master.cf maxproc): the session
    /// uses the stress-adaptive values of its parameters (stress = yes), as Postfix's master(8) arranges.
    /// </summary>
    public bool UnderStress { get; init; }
    public IPEndPoint RemoteEndPoint { get; }
    public IPEndPoint LocalEndPoint { get; }
    /// <summary>The client address, IPv4-mapped IPv6 addresses shown as IPv4.</summary>
    public IPAddress RemoteAddress => RemoteEndPoint.Address.IsIPv4MappedToIPv6 ? RemoteEndPoint.Address.MapToIPv4() : RemoteEndPoint.Address;
    public IPAddress LocalAddress => LocalEndPoint.Address.IsIPv4MappedToIPv6 ? LocalEndPoint.Address.MapToIPv4() : LocalEndPoint.Address;
    public PipeReader Input { get; private set; } = null!;
    public PipeWriter Output { get; private set; } = null!;
    public SslStream? Tls => _tls;
    public bool IsTls => _tls is not null;

    private void CreatePipes()
    {
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true));
        Output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    /// <summary>
    /// Switches to TLS. Whatever the client sent after the command that started TLS and that is still
    /// buffered is discarded: the pipes are rebuilt over the TLS stream (no plaintext command injection
    /// across the TLS boundary, CVE-2011-0411). Returns the number of discarded bytes.
    /// </summary>
    public async Task<long> StartTlsAsync(X509Certificate2 certificate, TimeSpan timeout, CancellationToken ct)
    {
        long discarded = DiscardBufferedInput();
        await Output.FlushAsync(ct).ConfigureAwait(false);
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        var tls = new SslStream(_network, leaveInnerStreamOpen: true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        // TLS 1.2/1.3 only, no client-initiated renegotiation, forward-secret AEAD suites (TlsPolicy).
        await tls.AuthenticateAsServerAsync(Mail.Smtp.TlsPolicy.Apply(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        }), cts.Token).ConfigureAwait(false);
        _tls = tls;
        _stream = tls;
        CreatePipes();
        return discarded;
    }

    /// <summary>Queues text (UTF-8) on the output pipe without flushing.</summary>
    public void Write(string text)
    {
        var n = System.Text.Encoding.UTF8.GetByteCount(text);
        var span = Output.GetSpan(n);
        System.Text.Encoding.UTF8.GetBytes(text, span);
        Output.Advance(n);
    }

    /// <summary>Flushes the output pipe; completes synchronously when the socket took it all at once.</summary>
    public ValueTask FlushAsync(CancellationToken ct)
    {
        var t = Output.FlushAsync(ct);
        return t.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitFlush(t);
        static async ValueTask AwaitFlush(ValueTask<FlushResult> t) => await t.ConfigureAwait(false);
    }

    /// <summary>Drops whatever input is buffered and not yet consumed; returns its length.</summary>
    public long DiscardBufferedInput()
    {
        if (!Input.TryRead(out var pending)) return 0;
        var n = pending.Buffer.Length;
        Input.AdvanceTo(pending.Buffer.End);
        return n;
    }

    /// <summary>TLS protocol and cipher for logs ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384").</summary>
    public string? TlsDescription => _tls is null ? null
        : $"{(_tls.SslProtocol == SslProtocols.Tls13 ? "TLSv1.3" : _tls.SslProtocol == SslProtocols.Tls12 ? "TLSv1.2" : _tls.SslProtocol.ToString())} with cipher {_tls.NegotiatedCipherSuite}";

    public void Abort()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        try { await Output.FlushAsync().ConfigureAwait(false); } catch (Exception) { }
        try { await Input.CompleteAsync().ConfigureAwait(false); } catch (Exception) { }
        try { await Output.CompleteAsync().ConfigureAwait(false); } catch (Exception) { }
        if (_tls is not null) { try { await _tls.DisposeAsync().ConfigureAwait(false); } catch (Exception) { } }
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        _network.Dispose();
        _socket.Dispose();
    }
}
