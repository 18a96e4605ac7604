using System.Net;
using System.Net.Sockets;

namespace Omoikane.Mail.RelayTest;

/// <summary>
/// The names the battery builds its addresses from. HostName is the server's name (the HOST argument
/// when it is a name, else the domain of the 220 greeting, else the address literal); Domain is HostName
/// without its first label when that leaves at least two labels (mail.example.org → example.org);
/// AddressLiteral is the connected address as an RFC 5321 §4.1.3 literal ("[192.0.2.25]",
/// "[IPv6:2001:db8::25]").
/// </summary>
public sealed record RelayTestTarget(
    string HostName,
    string Domain,
    string AddressLiteral,
    string Sender,
    string ToDomain,
    string ToAddressLiteral)
{
    public static RelayTestTarget Create(string host, IPAddress connected, string? greeting, string sender, string toDomain, IPAddress toAddress)
    {
        var literal = Literal(connected);
        string name;
        if (!IPAddress.TryParse(host, out _) && LooksLikeDomain(host)) name = host.TrimEnd('.');
        else if (GreetingDomain(greeting) is { } g) name = g;
        else name = literal;
        return new RelayTestTarget(name, ParentDomain(name), literal, sender, toDomain, Literal(toAddress));
    }

    /// <summary>RFC 5321 §4.1.3: IPv4-address-literal and IPv6-address-literal.</summary>
    public static string Literal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return "[IPv6:" + new IPAddress(address.GetAddressBytes()) + "]"; // drop any %scope
        return "[" + address + "]";
    }

    /// <summary>The domain of the greeting "220 domain text" (RFC 5321 §4.2, Greeting), when it is a dotted name.</summary>
    public static string? GreetingDomain(string? greeting)
    {
        if (greeting is null || greeting.Length < 5) return null;
        var rest = greeting[4..];
        var sp = rest.IndexOf(' ');
        var first = (sp < 0 ? rest : rest[..sp]).TrimEnd('.');
        return first.Contains('.') && LooksLikeDomain(first) && !IPAddress.TryParse(first, out _) ? first : null;
    }

    public static string ParentDomain(string name)
    {
        if (name.StartsWith('[')) return name;
        var dot = name.IndexOf('.');
        return dot > 0 && name.IndexOf('.', dot + 1) > 0 ? name[(dot + 1)..] : name;
    }

    private static bool LooksLikeDomain(string s) =>
        s.Length is > 0 and <= 253 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.')
        && !s.StartsWith('.') && !s.Contains("..");
}
