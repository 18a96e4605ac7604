namespace Omoikane.Mail.RelayTest;

/// <summary>
/// What a run of the battery found: one result per test, in order, and the verdict.
/// <see cref="ExitCode"/> is the exit status of <c>omoikane relaytest</c>:
/// 0 = every attempt was refused (not an open relay);
/// 1 = at least one attempt relayed (an open relay; this wins over any failure);
/// 2 = nothing relayed, but the server could not be reached, a test was cut short by a 4xx reply, or a
///     test could not be completed (connection lost, timeout, malformed reply, refused session, invalid
///     options): inconclusive.
/// </summary>
public sealed record RelayTestReport(
    string Host,
    int Port,
    string? Address,
    string? Greeting,
    IReadOnlyList<RelayTestResult> Results,
    string Verdict)
{
    public int Relayed => Results.Count(r => r.Outcome == RelayTestOutcome.Relayed);

    /// <summary>Tests that were not decided by a reply: failed or never run.</summary>
    public int Incomplete => Results.Count(r => r.Outcome is RelayTestOutcome.Failed or RelayTestOutcome.NotRun);

    public bool IsOpenRelay => Relayed > 0;

    /// <summary>Tests cut short by a 4xx reply.</summary>
    public int Inconclusive => Results.Count(r => r.Outcome == RelayTestOutcome.Inconclusive);

    public int ExitCode => Relayed > 0 ? 1 : Incomplete > 0 || Inconclusive > 0 || Results.Count == 0 ? 2 : 0;
}
