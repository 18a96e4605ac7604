using System.Net;

namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>One address to try: the host name (MX exchange or next hop) and one of its addresses.</summary>
public sealed record MxTarget(string HostName, IPAddress Address, int Port);

/// <summary>
/// Where a next hop leads: addresses to try in order, or a definite answer for every recipient without
/// connecting (null MX, unknown domain, DNS temporary failure).
/// </summary>
public sealed record MxRoute(IReadOnlyList<MxTarget> Targets, DeliveryStatus? Failure = null, string? Dsn = null, string? Text = null)
{
    public static MxRoute Fail(DeliveryStatus status, string dsn, string text) => new(Array.Empty<MxTarget>(), status, dsn, text);
}
