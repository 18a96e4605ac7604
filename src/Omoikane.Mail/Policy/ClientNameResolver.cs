using System.Net;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Policy;

/// <summary>
/// Finds the client's names the way Postfix's smtpd_peer.c does: PTR lookup, then the PTR name's
/// addresses must include the client address (forward-confirmed) or the name is "unknown".
/// </summary>
public static class ClientNameResolver
{
    public static async ValueTask<ClientIdentity> ResolveAsync(IPAddress address, IDnsResolver dns, CancellationToken ct = default)
    {
        address = Tables.IpNetwork.Normalize(address);
        var ptr = await dns.LookupPtrAsync(address, ct).ConfigureAwait(false);
        if (ptr.Status == DnsStatus.TempFail)
            return new(ClientIdentity.Unknown, PeerNameStatus.Temp, ClientIdentity.Unknown, PeerNameStatus.Temp);
        if (!ptr.Found)
            return ClientIdentity.UnknownPerm;
        var name = ptr.Records[0].TrimEnd('.');
        if (!HostnameSyntax.IsValidHostname(name))
            return ClientIdentity.UnknownPerm;
        var forward = await dns.LookupAddressesAsync(name, ct).ConfigureAwait(false);
        if (forward.Status == DnsStatus.TempFail)
            return new(ClientIdentity.Unknown, PeerNameStatus.Temp, name, PeerNameStatus.Ok);
        if (forward.Found && forward.Records.Any(a => Tables.IpNetwork.Normalize(a).Equals(address)))
            return new(name, PeerNameStatus.Ok, name, PeerNameStatus.Ok);
        return new(ClientIdentity.Unknown, PeerNameStatus.Forged, name, PeerNameStatus.Ok);
    }
}
