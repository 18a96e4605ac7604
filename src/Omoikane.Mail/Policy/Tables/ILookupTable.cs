namespace Omoikane.Mail.Policy.Tables;

public enum LookupStatus { Found, NotFound, TempFail }

/// <summary>Result of a table lookup (Postfix util/dict.h: found, not found, or temporary error).</summary>
public readonly record struct LookupResult(LookupStatus Status, string? Value)
{
    public static LookupResult NotFound => new(LookupStatus.NotFound, null);
    public static LookupResult TempFail => new(LookupStatus.TempFail, null);
    public static LookupResult Found(string value) => new(LookupStatus.Found, value);
}

/// <summary>
/// One lookup table ("type:name" in main.cf). Implementations: cidr, texthash, hash (read from the
/// text source), inline. Keys are looked up as given; callers apply Postfix's search order
/// (full address, domain, parent domains, localpart@) themselves.
/// </summary>
public interface ILookupTable
{
    /// <summary>"cidr:/etc/postfix/x" — as written in main.cf.</summary>
    string Name { get; }
    ValueTask<LookupResult> LookupAsync(string key, CancellationToken cancellationToken = default);
}
