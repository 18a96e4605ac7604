namespace Omoikane.Mail.Policy;

/// <summary>
/// One step of an evaluation, for "omoikane explain": the stage parameter, the nesting depth
/// (restriction classes and access-table results nest), the restriction as written, its verdict
/// (permit, reject, dunno, defer_if_permit, ..., or "dns"/"lookup" for answers seen) and details.
/// </summary>
public sealed record PolicyTraceEntry(string Stage, int Depth, string Restriction, string Verdict, string? Detail = null)
{
    public override string ToString()
        => $"{Stage}: {new string(' ', Math.Max(0, Depth - 1) * 2)}{Restriction} -> {Verdict}{(Detail is null ? "" : " (" + Detail + ")")}";
}
