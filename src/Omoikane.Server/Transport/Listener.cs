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
    private bool _closing;  // StopAsync closed the socket: an aborted accept is the stop, not a failure
    private readonly Action<string> _onError;
    private Task? _acceptLoop;
    private int _active;
    private readonly HashSet<Task> _sessions = new();

    public Listener(IPEndPoint endpoint, int maxProc, Func<Connection, CancellationToken, Task> handler, Action<string> onError)
    {
        _handler = handler;
        _onError = onError;
        _slots = new SemaphoreSlim(maxProc <= 0 ? int.MaxValue : Math.Min(maxProc, int.MaxValue / 2));
        _socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            _socket.DualMode = true;
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(endpoint);
        _socket.Listen(1024);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
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
            // Closing the socket to stop aborts the pending accept: a clean stop, not a failure.
            catch (SocketException) when (Volatile.Read(ref _closing)) { _slots.Release(); break; }
            catch (SocketException ex)
            {
                _slots.Release();
                _onError($"accept failed on {EndPoint}: {ex.Message}");
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            Interlocked.Increment(ref _active);
            var task = RunSessionAsync(client, ct);
            lock (_sessions) _sessions.Add(task);
            _ = task.ContinueWith(t => { lock (_sessions) _sessions.Remove(t); }, TaskScheduler.Default);
        }
    }

    private async Task RunSessionAsync(Socket client, CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            await using var connection = new Connection(client);
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
            Interlocked.Decrement(ref _active);
            _slots.Release();
        }
    }

    /// <summary>Stops accepting; running sessions get up to the grace period to finish.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _stop.CancelAfter(grace);
        Volatile.Write(ref _closing, true);
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
