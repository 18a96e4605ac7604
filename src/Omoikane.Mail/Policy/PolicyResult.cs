namespace Omoikane.Mail.Policy;

/// <summary>The decision of one check plus the log lines it produced (warn, reject_warning, ...).</summary>
public sealed record PolicyResult(PolicyDecision Decision, IReadOnlyList<PolicyLogEntry> Log)
{
    public static readonly PolicyResult Accepted = new(PolicyDecision.Accept, []);
    public bool IsAccepted => Decision.IsAccepted;
}
