namespace Omoikane.Mail.Tests.RelayTest;

/// <summary>
/// What the scripted server answers. Replies are whole reply texts without the final CRLF
/// ("250 ok", or "550-a\r\n550 b" for a multi-line reply); a null reply drops the connection instead.
/// </summary>
public sealed class ScriptedSmtpBehavior
{
    public const string Name = "mx.omoikane.test";

    public string Greeting { get; init; } = $"220 {Name} ESMTP";
    public Func<string, string?> Ehlo { get; init; } = _ => $"250-{Name}\r\n250-PIPELINING\r\n250 8BITMIME";
    public Func<string, string?> Mail { get; init; } = _ => "250 2.1.0 Ok";

    /// <summary>(reverse-path, forward-path) → reply; the paths are what stood between the angle brackets.</summary>
    public Func<string, string, string?> Rcpt { get; init; } = (_, _) => "250 2.1.5 Ok";

    public string? Data { get; init; } = "354 End data with <CR><LF>.<CR><LF>";
    public string? EndOfData { get; init; } = "250 2.0.0 Ok: queued as 4ABC";

    /// <summary>Close the connection right after every RCPT reply (a server that gives up after one refusal).</summary>
    public bool CloseAfterRcpt { get; init; }

    /// <summary>Write replies one byte at a time, flushing each, so the client sees them in pieces.</summary>
    public bool Trickle { get; init; }

    /// <summary>Stop listening after this many connections (later connection attempts are refused).</summary>
    public int MaxConnections { get; init; } = int.MaxValue;

    /// <summary>Say nothing at all after accepting the connection.</summary>
    public bool Silent { get; init; }

    /// <summary>The line terminator of the replies; "\n" makes a broken server.</summary>
    public string LineEnd { get; init; } = "\r\n";
}
