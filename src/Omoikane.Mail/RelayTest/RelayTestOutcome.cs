namespace Omoikane.Mail.RelayTest;

/// <summary>How one relay attempt ended.</summary>
public enum RelayTestOutcome
{
    /// <summary>The server took the message for the foreign recipient: the end of data got 2xx
    /// (RFC 5321 §4.1.1.4), or, with <see cref="RelayTestOptions.NoData"/>, RCPT got 2xx (§4.1.1.3).</summary>
    Relayed,

    /// <summary>A 5xx reply refused the attempt (at MAIL, RCPT or DATA).</summary>
    Refused,

    /// <summary>A 4xx reply refused the attempt for now (RFC 5321 §4.2.1: transient negative).</summary>
    RefusedTemporarily,

    /// <summary>The attempt could not be completed: the connection broke, timed out, or the reply was malformed.</summary>
    Failed,

    /// <summary>The attempt was never made (the server could not be reached).</summary>
    NotRun,
}
