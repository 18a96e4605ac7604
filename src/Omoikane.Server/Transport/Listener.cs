using System.Net;
using System.Net.Sockets;

namespace Omoikane.Server.Transport;

/// <summary>
/// Accepts connections for one master.cf service. maxproc caps concurrent sessions: when the cap is
/// reached the listener stops accepting, and further clients wait in the kernel's listen queue, as
/// they do with Postfix's master(8).
/// </summary>
public sealed class Listener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly SemaphoreSlim _slots;
    private Func<Connection, CancellationToken, Task> _handler;
    private Func<Connection, CancellationToken, ValueTask<bool>>? _admit;
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<string> _onError;
    private Task? _acceptLoop;
    private int _active;
    private readonly int _maxProc;
    private readonly string _serviceLabel;
    private long _stressWarnedAt = long.MinValue;
    private ConnectionLimit? _limit;
    private readonly HashSet<Task> _sessions = new();

    /// <param name="serviceName">The master.cf service field, as the process-limit warning names it: <c>service "smtp" (25)</c>.</param>
    public Listener(IPEndPoint endpoint, int maxProc, Func<Connection, CancellationToken, Task> handler, Action<string> onError, string? serviceName = null)
    {
        _handler = handler;
        _onError = onError;
        _maxProc = maxProc;
        _slots = new SemaphoreSlim(maxProc <= 0 ? int.MaxValue : Math.Min(maxProc, int.MaxValue / 2));
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            _socket.DualMode = true;
        AllowRebindAfterRestart(_socket);
        try
        {
            _socket.Bind(endpoint);
            _socket.Listen(1024);
        }
        catch (SocketException ex)
        {
            _socket.Dispose();
            throw new ListenException(endpoint, ex);
        }
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _serviceLabel = $"service \"{serviceName ?? EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}\" ({EndPoint.Port})";
    }

    /// <summary>
    /// Exclusive binding: a second socket (another server, a second instance) cannot bind the port while this one
    /// listens. .NET's ReuseAddress option also sets SO_REUSEPORT on Linux, which lets several processes share a
    /// port and split its connections; only SO_REUSEADDR is set here, and only so that a restart can bind while
    /// connections of the previous run linger in TIME_WAIT (what Postfix does).
    /// </summary>
    private static void AllowRebindAfterRestart(Socket socket)
    {
        if (OperatingSystem.IsWindows()) { socket.ExclusiveAddressUse = true; return; }
        const int SolSocket = 1, SoReuseAddr = 2; // Linux values
        if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
    }

    public IPEndPoint EndPoint { get; }
    public int ActiveSessions => Volatile.Read(ref _active);

    /// <summary>
    /// Replaces the session handler for connections accepted from now on (reload); sessions already
    /// running keep the handler, and so the settings, they started with.
    /// </summary>
    public void SetHandler(Func<Connection, CancellationToken, Task> handler) => Volatile.Write(ref _handler, handler);

    /// <summary>
    /// Runs before the handler for every accepted connection (hosts.allow / hosts.deny). It returns false
    /// to refuse: it has then written whatever refusal the protocol wants, and the connection is closed.
    /// </summary>
    public Func<Connection, CancellationToken, ValueTask<bool>>? Admit
    {
        get => Volatile.Read(ref _admit);
        set => Volatile.Write(ref _admit, value);
    }

    /// <summary>The per-client connection limit, checked first for every accepted connection (swapped by a reload).</summary>
    public ConnectionLimit? Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, value);
    }

    /// <summary>How often the process-limit warning may be repeated (Postfix master(8): once per 1000 seconds).</summary>
    public static TimeSpan StressWarningInterval { get; } = TimeSpan.FromSeconds(1000);

    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try { await _slots.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            Socket client;
            try { client = await _socket.AcceptAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { _slots.Release(); break; }
            catch (ObjectDisposedException) { _slots.Release(); break; }
            catch (SocketException ex)
            {
                _slots.Release();
                _onError($"accept failed on {EndPoint}: {ex.Message}");
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            var active = Interlocked.Increment(ref _active);
            var stressed = _maxProc > 0 && active >= _maxProc;
            if (stressed) WarnProcessLimit();
            var task = RunSessionAsync(client, stressed, ct);
            lock (_sessions) _sessions.Add(task);
            _ = task.ContinueWith(t => { lock (_sessions) _sessions.Remove(t); }, TaskScheduler.Default);
        }
    }

    /// <summary>master(8)'s words when a service reaches its process limit; new sessions then run under stress.</summary>
    private void WarnProcessLimit()
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _stressWarnedAt);
        if (last != long.MinValue && now - last < (long)StressWarningInterval.TotalMilliseconds) return;
        if (Interlocked.CompareExchange(ref _stressWarnedAt, now, last) != last) return;
        _onError($"{_serviceLabel} has reached its process limit \"{_maxProc}\": new clients may experience noticeable delays");
        _onError("to avoid this condition, increase the process count in master.cf or reduce the service time per client");
        _onError("see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration settings");
    }

    private async Task RunSessionAsync(Socket client, bool stressed, CancellationToken ct)
    {
        await Task.Yield();
        IDisposable? lease = null;
        try
        {
            await using var connection = new Connection(client) { UnderStress = stressed };
            // Per-client limit first: before hosts_access (DNS) and before any TLS handshake.
            var limit = Limit;
            if (limit is not null && (lease = await limit.TryOpenAsync(connection, ct).ConfigureAwait(false)) is null) return;
            var admit = Admit;
            if (admit is not null && !await admit(connection, ct).ConfigureAwait(false)) return;
            await Volatile.Read(ref _handler)(connection, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            _onError($"session failed: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            lease?.Dispose();
            Interlocked.Decrement(ref _active);
            _slots.Release();
        }
    }

    /// <summary>Stops accepting; running sessions get up to the grace period to finish.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _stop.CancelAfter(grace);
        try { _socket.Close(); } catch (Exception) { }
        if (_acceptLoop is not null) { try { await _acceptLoop.ConfigureAwait(false); } catch (Exception) { } }
        Task[] running;
        lock (_sessions) running = _sessions.ToArray();
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(grace)).ConfigureAwait(false);
        _stop.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _socket.Dispose();
    }
}

/// <summary>A listening address that cannot be bound; the message names the address and the reason in one line.</summary>
public sealed class ListenException(IPEndPoint endpoint, SocketException inner) : SocketException(inner.ErrorCode)
{
    public IPEndPoint EndPoint { get; } = endpoint;
    public override string Message { get; } = inner.SocketErrorCode == SocketError.AddressAlreadyInUse
        ? $"cannot listen on {endpoint}: address already in use (another server, or another program, holds the port)"
        : $"cannot listen on {endpoint}: {inner.Message}";
}
