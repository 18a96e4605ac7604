namespace Omoikane.TestSupport.Dns;

/// <summary>
/// One resource record of the loopback zone. Address holds A/AAAA data, Target the name in
/// CNAME/PTR/MX data ("" is the root), Preference the MX preference, Strings the TXT character-strings.
/// </summary>
public sealed record ZoneRecord(
    string Name,
    DnsType Type,
    uint Ttl,
    byte[]? Address = null,
    string? Target = null,
    ushort Preference = 0,
    IReadOnlyList<byte[]>? Strings = null);
