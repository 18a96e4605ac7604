using System.Net;

namespace Omoikane.Mail.Authentication;

/// <summary>What the SMTP session knows about mail from outside: client address, HELO name, MAIL FROM ("" for &lt;&gt;).</summary>
public sealed record InboundContext(IPAddress Client, string Helo, string MailFrom);
