namespace Omoikane.Mail;

/// <summary>
/// Items handed from any thread to one consumer thread of its own, which takes them in batches: the
/// consumer blocks while there is nothing to do, so it never occupies or wakes a thread-pool thread
/// (the group committers, the mail log writer).
/// </summary>
internal sealed class BatchQueue<T>
{
    private readonly object _gate = new();
    private List<T> _pending = new();
    private bool _closed;

    /// <summary>Adds an item; false once the queue is closed.</summary>
    public bool TryAdd(T item)
    {
        lock (_gate)
        {
            if (_closed) return false;
            _pending.Add(item);
            if (_pending.Count == 1) Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>Blocks until an item waits (true) or the queue is closed and empty (false).</summary>
    public bool WaitForItems()
    {
        lock (_gate)
        {
            while (_pending.Count == 0 && !_closed) Monitor.Wait(_gate);
            return _pending.Count > 0;
        }
    }

    /// <summary>Moves every waiting item into <paramref name="batch"/>, which must be empty.</summary>
    public void TakeAll(ref List<T> batch)
    {
        lock (_gate) (batch, _pending) = (_pending, batch);
    }

    public bool IsClosed
    {
        get { lock (_gate) return _closed; }
    }

    /// <summary>Refuses further items; the consumer still gets those already waiting.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
