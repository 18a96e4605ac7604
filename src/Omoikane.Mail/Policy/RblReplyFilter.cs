using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.Policy;

/// <summary>
/// The "=d.d.d.d" part of "reject_rbl_client zone=127.0.0.2" (postconf(5)): each octet is a number,
/// or "[a..b]" / "[a;b;c]" / "[a;b..c]" (Postfix 3.0 ip_match syntax).
/// </summary>
public sealed class RblReplyFilter
{
    private readonly (int Lo, int Hi)[][] _octets;

    private RblReplyFilter((int, int)[][] octets) => _octets = octets;

    public static bool TryParse(string pattern, out RblReplyFilter filter, out string? error)
    {
        filter = null!;
        error = null;
        var parts = SplitOctets(pattern);
        if (parts is null || parts.Count != 4)
        {
            error = $"bad reply filter \"{pattern}\": expected four octets such as 127.0.0.2 or 127.0.0.[2..11]";
            return false;
        }
        var octets = new (int, int)[4][];
        for (int i = 0; i < 4; i++)
        {
            var p = parts[i];
            var ranges = new List<(int, int)>();
            var items = p.StartsWith('[') && p.EndsWith(']') ? p[1..^1].Split(';') : [p];
            foreach (var item in items)
            {
                var dots = item.IndexOf("..", StringComparison.Ordinal);
                var lo = dots < 0 ? item : item[..dots];
                var hi = dots < 0 ? item : item[(dots + 2)..];
                if (!byte.TryParse(lo, out var l) || !byte.TryParse(hi, out var h) || l > h)
                {
                    error = $"bad reply filter \"{pattern}\": octet \"{p}\" is not a number 0..255 or range [a..b]";
                    return false;
                }
                ranges.Add((l, h));
            }
            octets[i] = ranges.ToArray();
        }
        filter = new RblReplyFilter(octets);
        return true;
    }

    private static List<string>? SplitOctets(string pattern)
    {
        var result = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '[') { if (depth++ > 0) return null; }
            else if (c == ']') { if (--depth < 0) return null; }
            else if (c == '.' && depth == 0) { result.Add(pattern[start..i]); start = i + 1; }
        }
        if (depth != 0) return null;
        result.Add(pattern[start..]);
        return result;
    }

    public bool Matches(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork) return false;
        var b = address.GetAddressBytes();
        for (int i = 0; i < 4; i++)
            if (!_octets[i].Any(r => b[i] >= r.Lo && b[i] <= r.Hi)) return false;
        return true;
    }
}
