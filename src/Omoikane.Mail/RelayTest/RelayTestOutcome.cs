namespace Omoikane.Mail.RelayTest;

/// <summary>How one relay attempt ended.</summary>
public enum RelayTestOutcome
{
    /// <summary>The server took the message for the foreign recipient: the end of data got 2xx
    /// (RFC 5321 §4.1.1.4), or, with <see cref="RelayTestOptions.NoData"/>, RCPT got 2xx (§4.1.1.3).</summary>
    Relayed,

    /// <summary>A 5xx reply refused the attempt (at MAIL, RCPT or DATA).</summary>
    Refused,

    /// <summary>
    /// A 4xx reply cut the attempt short (RFC 5321 §4.2.1: transient negative): the server has not said
    /// whether it would relay, so the test proves nothing either way.
    /// </summary>
    Inconclusive,

    /// <summary>The attempt could not be completed: the connection broke, timed out, or the reply was malformed.</summary>
    Failed,

    /// <summary>The attempt was never made (the server could not be reached).</summary>
    NotRun,
}
