namespace Omoikane.Mail.Queue;

/// <summary>
/// Postfix-style short queue ids: upper-case hex, 12 digits (7 of the arrival time in seconds, 5 of a
/// per-process counter with a random start), unique in one queue directory (files are created with
/// CreateNew, so a collision across restarts is retried, never overwritten).
/// </summary>
public static class QueueId
{
    private static int _counter = Random.Shared.Next(0, 0xFFFFF);

    public static string Next(TimeProvider? time = null)
    {
        var secs = (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();
        var n = Interlocked.Increment(ref _counter) & 0xFFFFF;
        return $"{secs & 0xFFFFFFF:X7}{n:X5}";
    }

    public static bool IsValid(string id)
        => id.Length is >= 6 and <= 32 && id.All(c => char.IsAsciiDigit(c) || c is >= 'A' and <= 'Z' || c is >= 'a' and <= 'z');
}
