namespace Omoikane.Mail.Policy;

/// <summary>A compiled restriction list, e.g. smtpd_recipient_restrictions, or a restriction class.</summary>
public sealed record RestrictionList(string Name, IReadOnlyList<Restriction> Items)
{
    public bool IsEmpty => Items.Count == 0;
    public override string ToString() => $"{Name} = {string.Join(", ", Items)}";
}
