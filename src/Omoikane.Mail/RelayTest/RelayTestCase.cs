namespace Omoikane.Mail.RelayTest;

/// <summary>
/// One relay attempt of the battery: the reverse-path and forward-path exactly as they are sent
/// between the angle brackets of MAIL FROM:&lt;…&gt; and RCPT TO:&lt;…&gt; (RFC 5321 §4.1.1.2, §4.1.1.3).
/// </summary>
public sealed record RelayTestCase(int Number, string Name, string MailFrom, string RcptTo);
