namespace Omoikane.TestSupport.Dns;

/// <summary>Record types the loopback server knows (RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 6891 §6.1.1).</summary>
public enum DnsType : ushort
{
    A = 1,
    Ns = 2,
    Cname = 5,
    Soa = 6,
    Ptr = 12,
    Mx = 15,
    Txt = 16,
    Aaaa = 28,
    Opt = 41,
    Any = 255,
}
