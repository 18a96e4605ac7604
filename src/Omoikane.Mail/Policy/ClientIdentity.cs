namespace Omoikane.Mail.Policy;

/// <summary>
/// The client's names as Postfix computes them: Name is the forward-confirmed hostname or "unknown";
/// ReverseName is the PTR name whether or not it is confirmed, or "unknown".
/// </summary>
public sealed record ClientIdentity(string Name, PeerNameStatus NameStatus, string ReverseName, PeerNameStatus ReverseNameStatus)
{
    public const string Unknown = "unknown";
    public static readonly ClientIdentity UnknownPerm = new(Unknown, PeerNameStatus.Perm, Unknown, PeerNameStatus.Perm);
}
