namespace Omoikane.TestSupport.Dns;

/// <summary>How <see cref="LoopbackDnsServer"/> answers queries for one name.</summary>
public enum DnsBehavior
{
    /// <summary>From the zone data: records, NoData when the name has other types, else NXDOMAIN.</summary>
    Answer,
    /// <summary>RCODE 3, Name Error (RFC 1035 §4.1.1), with the SOA for negative caching (RFC 2308 §3).</summary>
    NxDomain,
    /// <summary>NOERROR with an empty answer section and the SOA (RFC 2308 §2.2).</summary>
    NoData,
    /// <summary>RCODE 2, Server Failure.</summary>
    ServFail,
    /// <summary>RCODE 5, Refused.</summary>
    Refused,
    /// <summary>The query is read and counted, and never answered (for timeouts).</summary>
    NeverAnswer,
    /// <summary>Over UDP only the header (TC set) and question are sent; TCP gets the full answer (RFC 1035 §4.2.1).</summary>
    TruncateOverUdp,
}
