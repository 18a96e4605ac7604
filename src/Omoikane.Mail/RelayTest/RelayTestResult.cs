using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.RelayTest;

/// <summary>
/// The result of one relay attempt. <see cref="Reply"/> is the reply that decided it (the end-of-data reply
/// for a relayed message), or null when none came; <see cref="Detail"/> then says why.
/// </summary>
public sealed record RelayTestResult(
    RelayTestCase Test,
    RelayTestOutcome Outcome,
    RelayTestStage Stage,
    SmtpReply? Reply,
    string? Detail = null)
{
    public int Number => Test.Number;
    public string MailFrom => Test.MailFrom;
    public string RcptTo => Test.RcptTo;
    public bool Relayed => Outcome == RelayTestOutcome.Relayed;
}
