namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>Where in the SMTP conversation the client is; names the stage in log texts as Postfix does.</summary>
public enum SmtpClientStage { Greeting, Helo, StartTls, MailFrom, RcptTo, Data, EndOfData, Rset, Quit }

/// <summary>Postfix smtp(8) wording for each stage.</summary>
public static class SmtpClientStageText
{
    /// <summary>"(in reply to RCPT TO command)".</summary>
    public static string InReplyTo(SmtpClientStage stage) => stage switch
    {
        SmtpClientStage.Greeting => "in reply to the initial server greeting",
        SmtpClientStage.Helo => "in reply to EHLO command",
        SmtpClientStage.StartTls => "in reply to STARTTLS command",
        SmtpClientStage.MailFrom => "in reply to MAIL FROM command",
        SmtpClientStage.RcptTo => "in reply to RCPT TO command",
        SmtpClientStage.Data => "in reply to DATA command",
        SmtpClientStage.EndOfData => "in reply to end of DATA command",
        SmtpClientStage.Rset => "in reply to RSET command",
        _ => "in reply to QUIT command",
    };

    /// <summary>"while receiving the initial server greeting", "while sending MAIL FROM".</summary>
    public static string While(SmtpClientStage stage) => stage switch
    {
        SmtpClientStage.Greeting => "while receiving the initial server greeting",
        SmtpClientStage.Helo => "while performing the EHLO handshake",
        SmtpClientStage.StartTls => "while performing the STARTTLS handshake",
        SmtpClientStage.MailFrom => "while sending MAIL FROM",
        SmtpClientStage.RcptTo => "while sending RCPT TO",
        SmtpClientStage.Data => "while sending DATA command",
        SmtpClientStage.EndOfData => "while sending message body",
        SmtpClientStage.Rset => "while sending RSET",
        _ => "while sending QUIT",
    };
}
