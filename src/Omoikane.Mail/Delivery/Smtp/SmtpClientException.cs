namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>The connection to the peer broke (closed, timed out, malformed reply, TLS failure); never an SMTP reply.</summary>
public sealed class SmtpClientException : Exception
{
    public SmtpClientStage Stage { get; }
    public bool TimedOut { get; }

    private SmtpClientException(string message, SmtpClientStage stage, bool timedOut, Exception? inner)
        : base(message, inner) { Stage = stage; TimedOut = timedOut; }

    public static SmtpClientException Lost(SmtpClientStage stage, Exception? inner = null) => new("lost connection", stage, false, inner);
    public static SmtpClientException Timeout(SmtpClientStage stage) => new("timed out", stage, true, null);
    public static SmtpClientException Protocol(SmtpClientStage stage, string what) => new(what, stage, false, null);
}
