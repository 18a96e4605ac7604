namespace Omoikane.Mail.Dns;

/// <summary>The record types the resolver asks for (RFC 1035 §3.2.2, RFC 3596 §2.1), with their type codes.</summary>
public enum DnsRecordType : ushort
{
    A = 1,
    Ptr = 12,
    Mx = 15,
    Txt = 16,
    Aaaa = 28,
}
