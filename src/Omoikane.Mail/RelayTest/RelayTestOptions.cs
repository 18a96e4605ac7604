using System.Net;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.RelayTest;

/// <summary>
/// Options of one run of the open-relay battery (<c>omoikane relaytest HOST[:PORT] [--helo NAME]
/// [--from ADDR] [--to-domain DOMAIN] [--source IP] [--no-data]</c>).
/// </summary>
public sealed record RelayTestOptions
{
    /// <summary>The server to test: a host name or an IP address (IPv6 without brackets).</summary>
    public required string Host { get; init; }

    public int Port { get; init; } = 25;

    /// <summary>The EHLO/HELO argument (RFC 5321 §4.1.1.1). Default: the local machine name.</summary>
    public string? Helo { get; init; }

    /// <summary>The ordinary sender of the battery (without angle brackets). Default: relaytest@HELO.</summary>
    public string? From { get; init; }

    /// <summary>
    /// The foreign domain the battery tries to reach through the server. Default <c>example.com</c>:
    /// reserved by RFC 2606 §3 and published with a null MX (RFC 7505), so a message an open relay
    /// takes on is never delivered to anyone, yet, unlike <c>.invalid</c> or <c>.test</c> names, the
    /// domain exists in DNS, so a server cannot refuse it merely for being unknown
    /// (Postfix reject_unknown_recipient_domain) and hide an open relay behind that.
    /// </summary>
    public string ToDomain { get; init; } = DefaultToDomain;

    /// <summary>
    /// The foreign address used in the <c>user@[address]</c> test. Default 192.0.2.1 (TEST-NET-1,
    /// RFC 5737), which is never routed; it is not looked up from <see cref="ToDomain"/>, so runs are
    /// repeatable and need no DNS.
    /// </summary>
    public IPAddress ToAddress { get; init; } = DefaultToAddress;

    /// <summary>
    /// The local address the tester's connections come from (<c>--source IP</c>): run the battery from an
    /// address outside the server's mynetworks (e.g. 127.0.0.2 when mynetworks is 127.0.0.1/32) without
    /// leaving the machine. Null: the system picks it.
    /// </summary>
    public IPAddress? Source { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for each reply. RFC 5321 §4.5.3.2 suggests minutes; a tester can be brisker.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Stop each attempt at RCPT: an accepted RCPT then counts as relayed, and no message is sent.
    /// Without it, an accepted RCPT is followed by DATA and a tiny test message, and the attempt counts as
    /// relayed only when the end of data gets 2xx — a server may accept recipients and refuse at DATA.
    /// </summary>
    public bool NoData { get; init; }

    /// <summary>Resolves <see cref="Host"/> when it is a name (so that dns_servers applies); null = the system resolver.</summary>
    public IDnsResolver? Resolver { get; init; }

    public const string DefaultToDomain = "example.com";
    public static readonly IPAddress DefaultToAddress = IPAddress.Parse("192.0.2.1");
}
