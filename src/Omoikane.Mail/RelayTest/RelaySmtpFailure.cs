namespace Omoikane.Mail.RelayTest;

/// <summary>Why the relay tester's SMTP connection broke.</summary>
public enum RelaySmtpFailure
{
    ConnectFailed,
    Timeout,
    ConnectionClosed,
    LineTooLong,
    BareLineFeed,
    MalformedReply,
    TooManyLines,
}
