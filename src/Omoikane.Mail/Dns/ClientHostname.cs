using System.Net;

namespace Omoikane.Mail.Dns;

/// <summary>
/// What DNS says about a client address, as Postfix's smtpd keeps it (smtpd_peer.c):
/// <list type="bullet">
/// <item><see cref="ReverseName"/>: the PTR name, or "unknown"; used by reject_unknown_reverse_client_hostname
/// (<see cref="ReverseStatus"/>).</item>
/// <item><see cref="VerifiedName"/>: the PTR name whose A/AAAA records include the address (forward-confirmed),
/// or "unknown"; this is the client name of logs and Received headers, used by
/// reject_unknown_client_hostname (<see cref="ForwardStatus"/>).</item>
/// </list>
/// When the reverse step fails, ForwardStatus repeats ReverseStatus. A TempFail status must give 450
/// whatever unknown_client_reject_code says.
/// </summary>
public sealed record ClientHostname(
    IPAddress Address,
    string ReverseName,
    string VerifiedName,
    HostnameStatus ReverseStatus,
    HostnameStatus ForwardStatus)
{
    public const string Unknown = "unknown";

    public bool IsVerified => ForwardStatus == HostnameStatus.Ok;

    /// <summary>"name[ip]" as in Postfix logs and Received headers: the verified name or "unknown".</summary>
    public string NameAndAddress => $"{VerifiedName}[{Address}]";
}
