using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.Policy;

/// <summary>Postfix util/valid_hostname.c: host names and numeric host addresses.</summary>
public static class HostnameSyntax
{
    /// <summary>
    /// Labels of letters, digits, '-' and '_' (not starting or ending with '-'), 1..63 octets each,
    /// 255 in all, and not purely numeric (a numeric name is an address, not a host name).
    /// </summary>
    public static bool IsValidHostname(string name)
    {
        if (name.Length == 0 || name.Length > 255) return false;
        bool nonNumeric = false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63) return false;
            if (label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
            {
                if (char.IsAsciiDigit(c)) continue;
                if (char.IsAsciiLetter(c) || c == '-' || c == '_') { nonNumeric = true; continue; }
                return false;
            }
        }
        return nonNumeric;
    }

    /// <summary>A dotted-quad IPv4 address or an IPv6 address (optionally with "IPv6:" in front).</summary>
    public static bool IsValidHostAddress(string text)
    {
        if (text.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return IPAddress.TryParse(text[5..], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 && !text.Contains('%');
        if (text.Contains(':'))
            return IPAddress.TryParse(text, out var a6) && a6.AddressFamily == AddressFamily.InterNetworkV6 && !text.Contains('%');
        var parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p) <= 255);
    }

    /// <summary>Strips one trailing dot, but not from "name.." (smtpd_check.c dup_if_truncate).</summary>
    public static string TruncateDot(string name)
        => name.Length > 1 && name[^1] == '.' && name[^2] != '.' ? name[..^1] : name;
}
