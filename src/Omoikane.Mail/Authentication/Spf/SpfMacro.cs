using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Mail.Authentication.Spf;

/// <summary>SPF macro expansion (RFC 7208 §7): %{letter digits r delimiters}, %%, %_ and %-.</summary>
public static class SpfMacro
{
    /// <summary>Expands <paramref name="spec"/>; null when it is not valid macro-string syntax.</summary>
    public static string? Expand(string spec, SpfMacroContext ctx)
    {
        var sb = new StringBuilder(spec.Length + 32);
        for (int i = 0; i < spec.Length; i++)
        {
            var c = spec[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= spec.Length) return null;
            switch (spec[i])
            {
                case '%': sb.Append('%'); continue;
                case '_': sb.Append(' '); continue;
                case '-': sb.Append("%20"); continue;
                case '{': break;
                default: return null;
            }
            var close = spec.IndexOf('}', i);
            if (close < 0 || close == i + 1) return null;
            var body = spec[(i + 1)..close];
            i = close;
            var value = Letter(char.ToLowerInvariant(body[0]), ctx);
            if (value is null) return null;
            // Transformers: optional digits, optional 'r', then delimiters (RFC 7208 §7.1).
            int p = 1, digits = 0;
            bool hasDigits = false;
            while (p < body.Length && char.IsAsciiDigit(body[p])) { digits = digits * 10 + (body[p] - '0'); hasDigits = true; p++; if (digits > 128) return null; }
            if (hasDigits && digits == 0) return null;
            bool reverse = false;
            if (p < body.Length && (body[p] is 'r' or 'R')) { reverse = true; p++; }
            var delimiters = body[p..];
            foreach (var d in delimiters) if (".-+,/_=".IndexOf(d) < 0) return null;
            var parts = value.Split(delimiters.Length == 0 ? ['.'] : delimiters.ToCharArray());
            if (reverse) Array.Reverse(parts);
            if (hasDigits && digits < parts.Length) parts = parts[^digits..];
            var expanded = string.Join('.', parts);
            if (char.IsUpper(body[0])) expanded = Uri.EscapeDataString(expanded);
            sb.Append(expanded);
        }
        return sb.ToString();
    }

    private static string? Letter(char letter, SpfMacroContext ctx) => letter switch
    {
        's' => ctx.Sender,
        'l' => ctx.LocalPart,
        'o' => ctx.SenderDomain,
        'd' => ctx.Domain,
        'i' => DottedAddress(ctx.Client),
        'p' => "unknown", // RFC 7208 §7.3: validated names are discouraged; "unknown" is allowed
        'v' => ctx.Client.AddressFamily == AddressFamily.InterNetworkV6 ? "ip6" : "in-addr",
        'h' => ctx.Helo,
        'c' => ctx.Client.ToString(),
        'r' => ctx.Receiver,
        't' => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>%{i}: dotted quad for IPv4, dot-separated nibbles for IPv6 (RFC 7208 §7.3).</summary>
    public static string DottedAddress(IPAddress ip)
    {
        if (ip.AddressFamily == AddressFamily.InterNetwork) return ip.ToString();
        var bytes = ip.GetAddressBytes();
        var sb = new StringBuilder(63);
        foreach (var b in bytes)
        {
            if (sb.Length > 0) sb.Append('.');
            sb.Append("0123456789abcdef"[b >> 4]).Append('.').Append("0123456789abcdef"[b & 15]);
        }
        return sb.ToString();
    }
}
