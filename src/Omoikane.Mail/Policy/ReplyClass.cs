namespace Omoikane.Mail.Policy;

/// <summary>The "what was rejected" words of Postfix replies (smtpd_check.h SMTPD_NAME_*).</summary>
public static class ReplyClass
{
    public const string Client = "Client host";
    public const string ReverseClient = "Unverified Client host";
    public const string Helo = "Helo command";
    public const string Sender = "Sender address";
    public const string Recipient = "Recipient address";
    public const string Data = "Data command";
    public const string EndOfData = "End-of-data";
}
