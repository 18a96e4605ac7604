namespace Omoikane.Mail.RelayTest;

/// <summary>The step of the mail transaction (RFC 5321 §3.3) at which an attempt was decided.</summary>
public enum RelayTestStage
{
    Connect,
    MailFrom,
    RcptTo,
    Data,
}
