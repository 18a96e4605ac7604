namespace Omoikane.EndToEnd.Tests.Outbound;

/// <summary>Waits for a condition with a deadline; every wait in these tests is bounded.</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<T?> probe, string what, double seconds = 20) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (probe() is { } v) return v;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"gave up after {seconds} s waiting for {what}");
            await Task.Delay(100);
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, double seconds = 20)
        => UntilAsync(() => condition() ? "" : null, what, seconds);
}
