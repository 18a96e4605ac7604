using System.Net;
using System.Net.Sockets;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Server.Transport;

/// <summary>The kinds of client pattern of hosts_access(5).</summary>
public enum HostsAccessPatternKind
{
    /// <summary>ALL: every client.</summary>
    All,
    /// <summary>LOCAL: a client whose (forward-confirmed) name has no dot.</summary>
    Local,
    /// <summary>KNOWN: a client whose name is known (forward-confirmed).</summary>
    Known,
    /// <summary>UNKNOWN: a client whose name is not known.</summary>
    Unknown,
    /// <summary>PARANOID: a client whose PTR name does not map back to its address.</summary>
    Paranoid,
    /// <summary>An exact address: 192.0.2.1, [2001:db8::1].</summary>
    Address,
    /// <summary>An address prefix ending in a dot: 192.168.</summary>
    Prefix,
    /// <summary>net/mask (192.168.0.0/255.255.0.0), CIDR (192.168.0.0/16), [2001:db8::]/32.</summary>
    Network,
    /// <summary>.example.com: a name ending in the suffix.</summary>
    DomainSuffix,
    /// <summary>An exact host name (case-insensitive).</summary>
    Hostname,
    /// <summary>A pattern with * or ?: matched against the name and the address.</summary>
    Wildcard,
    /// <summary>@netgroup, user@host, /file: not supported; never matches (a warning says so).</summary>
    Unsupported,
    /// <summary>The EXCEPT operator inside a client list.</summary>
    Except,
}

/// <summary>One client pattern of a hosts.allow / hosts.deny rule (hosts_access(5) "PATTERNS" and "WILDCARDS").</summary>
public sealed record HostsAccessPattern(HostsAccessPatternKind Kind, string Text, byte[]? Net = null, byte[]? Mask = null)
{
    /// <summary>True when matching needs the client's name (a DNS lookup), false when the address decides.</summary>
    public bool NeedsName => Kind is HostsAccessPatternKind.Local or HostsAccessPatternKind.Known or HostsAccessPatternKind.Unknown
        or HostsAccessPatternKind.Paranoid or HostsAccessPatternKind.DomainSuffix or HostsAccessPatternKind.Hostname
        or HostsAccessPatternKind.Wildcard;

    /// <summary>Parses one pattern; error is set (and the pattern is Unsupported) when it cannot be used.</summary>
    public static HostsAccessPattern Parse(string text, out string? error)
    {
        error = null;
        switch (text.ToUpperInvariant())
        {
            case "ALL": return new(HostsAccessPatternKind.All, text);
            case "LOCAL": return new(HostsAccessPatternKind.Local, text);
            case "KNOWN": return new(HostsAccessPatternKind.Known, text);
            case "UNKNOWN": return new(HostsAccessPatternKind.Unknown, text);
            case "PARANOID": return new(HostsAccessPatternKind.Paranoid, text);
        }
        if (text.StartsWith('@') || text.StartsWith('/') || text.Contains('@'))
        {
            error = $"pattern \"{text}\" is not supported (netgroups, user@host and pattern files are not); it never matches";
            return new(HostsAccessPatternKind.Unsupported, text);
        }
        if (text.Contains('*') || text.Contains('?'))
            return new(HostsAccessPatternKind.Wildcard, text);
        var slash = text.IndexOf('/');
        if (slash > 0)
            return ParseNetwork(text, slash, out error);
        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            if (IPAddress.TryParse(text[1..^1], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
                return new(HostsAccessPatternKind.Address, text, IpNetwork.Normalize(v6).GetAddressBytes());
            error = $"bad IPv6 address \"{text}\"";
            return new(HostsAccessPatternKind.Unsupported, text);
        }
        if (text.EndsWith('.') && text.Length > 1 && char.IsAsciiDigit(text[0]))
        {
            if (text.TrimEnd('.').Split('.').All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)))
                return new(HostsAccessPatternKind.Prefix, text);
            error = $"bad address prefix \"{text}\"";
            return new(HostsAccessPatternKind.Unsupported, text);
        }
        if (text.StartsWith('.') && text.Length > 1)
            return new(HostsAccessPatternKind.DomainSuffix, text.ToLowerInvariant());
        if (IPAddress.TryParse(text, out var ip) && (ip.AddressFamily == AddressFamily.InterNetworkV6 || text.Count(c => c == '.') == 3))
            return new(HostsAccessPatternKind.Address, text, IpNetwork.Normalize(ip).GetAddressBytes());
        return new(HostsAccessPatternKind.Hostname, text.ToLowerInvariant().TrimEnd('.'));
    }

    private static HostsAccessPattern ParseNetwork(string text, int slash, out string? error)
    {
        error = null;
        var netText = text[..slash];
        var maskText = text[(slash + 1)..];
        var bracketed = netText.StartsWith('[') && netText.EndsWith(']');
        if (bracketed) netText = netText[1..^1];
        if (!IPAddress.TryParse(netText, out var net)
            || (net.AddressFamily == AddressFamily.InterNetwork && (bracketed || netText.Count(c => c == '.') != 3))
            || (net.AddressFamily == AddressFamily.InterNetworkV6 && !bracketed))
        {
            error = $"bad network \"{text}\": expected n.n.n.n/m.m.m.m, n.n.n.n/len or [v6]/len";
            return new(HostsAccessPatternKind.Unsupported, text);
        }
        var netBytes = net.GetAddressBytes();
        byte[] mask;
        if (maskText.All(char.IsAsciiDigit) && maskText.Length is > 0 and <= 3)
        {
            var len = int.Parse(maskText);
            if (len > netBytes.Length * 8)
            {
                error = $"bad network \"{text}\": prefix length above {netBytes.Length * 8}";
                return new(HostsAccessPatternKind.Unsupported, text);
            }
            // [::ffff:127.0.0.0]/104 is 127.0.0.0/8: clients are compared as IPv4 (IpNetwork.Normalize).
            (net, len) = IpNetwork.NormalizeNetwork(net, len);
            netBytes = net.GetAddressBytes();
            mask = new byte[netBytes.Length];
            for (int bit = 0; bit < len; bit++) mask[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }
        else if (net.AddressFamily == AddressFamily.InterNetwork && IPAddress.TryParse(maskText, out var m)
                 && m.AddressFamily == AddressFamily.InterNetwork && maskText.Count(c => c == '.') == 3)
        {
            mask = m.GetAddressBytes();
        }
        else
        {
            error = $"bad netmask in \"{text}\"";
            return new(HostsAccessPatternKind.Unsupported, text);
        }
        for (int i = 0; i < netBytes.Length; i++)
        {
            if ((netBytes[i] & ~mask[i]) != 0)
            {
                error = $"network \"{text}\" has host bits set beyond its mask; it never matches";
                return new(HostsAccessPatternKind.Unsupported, text);
            }
        }
        return new(HostsAccessPatternKind.Network, text, netBytes, mask);
    }

    /// <summary>Matches the client (hosts_access.c host_match / string_match / masked_match).</summary>
    public bool Matches(IPAddress address, HostsAccessName name)
    {
        address = IpNetwork.Normalize(address);
        switch (Kind)
        {
            case HostsAccessPatternKind.All: return true;
            case HostsAccessPatternKind.Local: return name.Known && !name.Name.Contains('.');
            case HostsAccessPatternKind.Known: return name.Known;
            case HostsAccessPatternKind.Unknown: return !name.Known;
            case HostsAccessPatternKind.Paranoid: return name.Forged;
            case HostsAccessPatternKind.Address: return address.GetAddressBytes().AsSpan().SequenceEqual(Net);
            case HostsAccessPatternKind.Prefix:
                return address.AddressFamily == AddressFamily.InterNetwork && address.ToString().StartsWith(Text, StringComparison.Ordinal);
            case HostsAccessPatternKind.Network:
            {
                var a = address.GetAddressBytes();
                if (a.Length != Net!.Length) return false;
                for (int i = 0; i < a.Length; i++)
                    if ((a[i] & Mask![i]) != Net[i]) return false;
                return true;
            }
            case HostsAccessPatternKind.DomainSuffix:
                return name.Known && name.Name.EndsWith(Text, StringComparison.OrdinalIgnoreCase);
            case HostsAccessPatternKind.Hostname:
                return name.Known && name.Name.Equals(Text, StringComparison.OrdinalIgnoreCase);
            case HostsAccessPatternKind.Wildcard:
                return (name.Known && Glob(Text, name.Name)) || Glob(Text, address.ToString());
            default: return false;
        }
    }

    private static bool Glob(string pattern, string value)
    {
        // Iterative * / ? matching, case-insensitive (tcp_wrappers match_pattern_ylo).
        int p = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(value[v]))) { p++; v++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = v; }
            else if (star >= 0) { p = star + 1; v = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    public override string ToString() => Text;
}

/// <summary>The client's name as hosts_access sees it: forward-confirmed, or unknown (and whether the PTR was forged).</summary>
public readonly record struct HostsAccessName(string Name, bool Known, bool Forged)
{
    public static readonly HostsAccessName None = new("unknown", false, false);
}
