using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>mynetworks: "net/prefix" entries ("[::1]/128" for IPv6) and lookup tables (cidr:/path) keyed by address.</summary>
public sealed class NetworkList
{
    private readonly List<IpNetwork> _networks = new();
    private readonly List<ILookupTable> _tables = new();

    public NetworkList(IReadOnlyList<string> entries, TableFactory tables, ConfigDiagnostics diagnostics, string parameterName = "mynetworks", string file = "main.cf", int line = 0)
    {
        foreach (var e in entries)
        {
            if (TableFactory.LooksLikeTable(e) && !e.StartsWith('['))
            {
                if (tables.Create(e, diagnostics, file, line) is { } t) _tables.Add(t);
            }
            else if (IpNetwork.TryParse(e, out var net, out var error)) _networks.Add(net);
            else diagnostics.Error(file, line, $"{parameterName}: {error}: write network/prefix, e.g. 192.0.2.0/24 or [2001:db8::]/32");
        }
    }

    public IReadOnlyList<IpNetwork> Networks => _networks;

    public async ValueTask<LookupStatus> MatchAsync(IPAddress address, CancellationToken ct = default)
    {
        foreach (var n in _networks)
            if (n.Contains(address)) return LookupStatus.Found;
        foreach (var t in _tables)
        {
            var r = await t.LookupAsync(IpNetwork.Normalize(address).ToString(), ct).ConfigureAwait(false);
            if (r.Status != LookupStatus.NotFound) return r.Status;
        }
        return LookupStatus.NotFound;
    }
}
