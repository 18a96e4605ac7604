using System.Net;

namespace Omoikane.Mail.Dns;

/// <summary>
/// Postfix's client name logic (smtpd_peer.c): a PTR lookup of the client address, then a forward
/// (A/AAAA) lookup of each PTR name; a name is verified only when one of its addresses equals the
/// client address ("forward-confirmed reverse DNS"). Temporary failures are kept apart from
/// "not found" at each step. Loopback addresses get no special treatment.
/// </summary>
public sealed class ClientHostnameResolver
{
    /// <summary>At most this many PTR names are checked (a PTR RRset can be large; each costs a lookup).</summary>
    public const int MaxPtrNames = 10;

    private readonly IDnsResolver _resolver;

    public ClientHostnameResolver(IDnsResolver resolver) => _resolver = resolver;

    public async ValueTask<ClientHostname> ResolveAsync(IPAddress client, CancellationToken ct = default)
    {
        client = DnsAddress.Normalize(client);
        var ptr = await _resolver.LookupPtrAsync(client, ct).ConfigureAwait(false);
        if (ptr.Status == DnsStatus.TempFail)
            return new(client, ClientHostname.Unknown, ClientHostname.Unknown, HostnameStatus.TempFail, HostnameStatus.TempFail);

        // Postfix refuses PTR names that are not valid host names, or that look like an address
        // (smtpd_peer.c: valid_hostname, valid_hostaddr), and treats them as "no name".
        var names = ptr.Records.Where(IsUsableHostName).Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxPtrNames).ToList();
        if (names.Count == 0)
            return new(client, ClientHostname.Unknown, ClientHostname.Unknown, HostnameStatus.NotFound, HostnameStatus.NotFound);

        bool tempFailed = false;
        foreach (var name in names)
        {
            var forward = await _resolver.LookupAddressesAsync(name, ct).ConfigureAwait(false);
            if (forward.Status == DnsStatus.TempFail) { tempFailed = true; continue; }
            if (forward.Records.Any(a => DnsAddress.SameAddress(a, client)))
                return new(client, name, name, HostnameStatus.Ok, HostnameStatus.Ok);
        }
        return new(client, names[0], ClientHostname.Unknown, HostnameStatus.Ok,
            tempFailed ? HostnameStatus.TempFail : HostnameStatus.NotFound);
    }

    /// <summary>
    /// Letters, digits, '-' and '_' in labels of 1..63 characters, no label starting or ending with '-',
    /// not all-numeric in the last label (which would read as an address, RFC 1123 §2.1).
    /// </summary>
    public static bool IsUsableHostName(string name)
    {
        if (!DnsName.TryNormalize(name, out var n)) return false;
        if (IPAddress.TryParse(n, out _)) return false;
        var labels = n.Split('.');
        foreach (var label in labels)
        {
            if (label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_') return false;
        }
        return !labels[^1].All(char.IsAsciiDigit);
    }
}
