namespace Omoikane.Mail.Dns;

/// <summary>Helpers over resolver answers.</summary>
public static class DnsAnswerExtensions
{
    /// <summary>
    /// True when the domain publishes a null MX: exactly one MX record whose exchange is the root "."
    /// (RFC 7505 §3, "0 ."). Such a domain accepts no mail, so a sender or recipient in it can be
    /// rejected (RFC 7505 §4.2) and mail to it bounces at once without retries (RFC 7505 §4.1).
    /// A "." record mixed with real ones is not a null MX; delivery skips just that record.
    /// </summary>
    public static bool IsNullMx(this DnsAnswer<MxRecord> answer)
        => answer.Status == DnsStatus.Ok && answer.Records.Count == 1 && answer.Records[0].IsNullExchange;
}
