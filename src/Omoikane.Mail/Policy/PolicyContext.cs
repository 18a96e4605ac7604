using System.Net;
using Omoikane.Mail.Addressing;

namespace Omoikane.Mail.Policy;

/// <summary>
/// What the policy engine knows about the session at one check (Postfix SMTPD_STATE, reduced).
/// Sender is null before MAIL FROM and MailAddress.Null for "&lt;&gt;"; HeloName is null before HELO/EHLO.
/// ClientName is the forward-confirmed name or "unknown" (see ClientNameResolver).
/// </summary>
public sealed record PolicyContext
{
    public required IPAddress ClientAddress { get; init; }
    public string ClientName { get; init; } = ClientIdentity.Unknown;
    public PeerNameStatus ClientNameStatus { get; init; } = PeerNameStatus.Perm;
    public string ReverseClientName { get; init; } = ClientIdentity.Unknown;
    public PeerNameStatus ReverseClientNameStatus { get; init; } = PeerNameStatus.Perm;
    public string? HeloName { get; init; }
    public MailAddress? Sender { get; init; }
    public MailAddress? Recipient { get; init; }
    public string? SaslUsername { get; init; }
    public string? SaslMethod { get; init; }
    public bool Tls { get; init; }
    /// <summary>"SMTP" or "ESMTP" as in the maillog proto= field.</summary>
    public string Protocol { get; init; } = "ESMTP";
    public string? QueueId { get; init; }
    /// <summary>Recipients accepted so far (DATA/end-of-data checks hide the recipient when more than one).</summary>
    public int RecipientCount { get; init; }
    /// <summary>The client sent commands ahead of the server's reply where that is not allowed (reject_unauth_pipelining).</summary>
    public bool IllegalPipelining { get; init; }

    /// <summary>The client address as Postfix prints it (IPv4-mapped IPv6 shown as IPv4).</summary>
    public string ClientAddressText => Tables.IpNetwork.Normalize(ClientAddress).ToString();

    /// <summary>"name[addr]", e.g. "unknown[192.0.2.1]".</summary>
    public string NamAddr => $"{ClientName}[{ClientAddressText}]";

    public PolicyContext WithClient(ClientIdentity identity) => this with
    {
        ClientName = identity.Name,
        ClientNameStatus = identity.NameStatus,
        ReverseClientName = identity.ReverseName,
        ReverseClientNameStatus = identity.ReverseNameStatus,
    };
}
