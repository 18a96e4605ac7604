using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>One compiled restriction: its kind, the name as written, and its argument (table, zone or class).</summary>
public sealed record Restriction(RestrictionKind Kind, string Name, string? Argument = null, ILookupTable? Table = null, RblReplyFilter? ReplyFilter = null)
{
    public override string ToString() => Argument is null ? Name : $"{Name} {Argument}";
}
