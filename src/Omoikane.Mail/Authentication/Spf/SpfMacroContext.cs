using System.Net;

namespace Omoikane.Mail.Authentication.Spf;

/// <summary>The values SPF macros expand to (RFC 7208 §7.2): s, l, o, d, i, h, r.</summary>
public sealed record SpfMacroContext(string Sender, string LocalPart, string SenderDomain, string Domain, IPAddress Client, string Helo, string Receiver);
