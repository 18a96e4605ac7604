namespace Omoikane.TestSupport;

/// <summary>
/// A clock that moves only when told to (<see cref="Advance"/>), for expiry tests without sleeping.
/// Covers GetUtcNow and the monotonic timestamp; timers still run on real time.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly DateTimeOffset _start;
    private long _ticks;

    public ManualTimeProvider(DateTimeOffset? start = null) => _start = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _start.AddTicks(Volatile.Read(ref _ticks));

    public override long GetTimestamp() => Volatile.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _ticks, by.Ticks);
    }
}
