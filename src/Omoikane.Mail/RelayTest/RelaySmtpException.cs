namespace Omoikane.Mail.RelayTest;

/// <summary>A broken connection of the relay tester (the only case that throws; replies are values).</summary>
public sealed class RelaySmtpException : Exception
{
    public RelaySmtpFailure Reason { get; }

    private RelaySmtpException(RelaySmtpFailure reason, string message, Exception? inner) : base(message, inner) => Reason = reason;

    /// <summary>The exception for <paramref name="reason"/>, for the caller to throw.</summary>
    internal static RelaySmtpException Create(RelaySmtpFailure reason, string? detail = null, Exception? inner = null)
    {
        var message = reason switch
        {
            RelaySmtpFailure.ConnectFailed => "cannot connect",
            RelaySmtpFailure.Timeout => "timed out waiting for the server",
            RelaySmtpFailure.ConnectionClosed => "connection closed by the server",
            RelaySmtpFailure.LineTooLong => "reply line too long",
            RelaySmtpFailure.BareLineFeed => "reply line not terminated by CRLF",
            RelaySmtpFailure.MalformedReply => "malformed reply",
            RelaySmtpFailure.TooManyLines => "too many reply lines",
            _ => reason.ToString(),
        };
        if (reason == RelaySmtpFailure.ConnectFailed && detail is not null) message = detail;
        else if (detail is not null) message = $"{message}: {detail}";
        return new RelaySmtpException(reason, message, inner);
    }
}
