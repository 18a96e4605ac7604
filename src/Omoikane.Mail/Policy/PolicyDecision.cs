using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Policy;

/// <summary>
/// The outcome of one policy check: accept, reject (5xx) or defer (4xx). Reply is the full SMTP reply;
/// its text is what Postfix logs after "NOQUEUE: reject: RCPT from name[addr]: ".
/// </summary>
public readonly record struct PolicyDecision(PolicyVerdict Verdict, SmtpReply? Reply)
{
    public static PolicyDecision Accept => new(PolicyVerdict.Accept, null);

    /// <summary>A 4xx reply defers, a 5xx reply rejects.</summary>
    public static PolicyDecision FromReply(SmtpReply reply)
        => new(reply.IsTransient ? PolicyVerdict.Defer : PolicyVerdict.Reject, reply);

    public bool IsAccepted => Verdict == PolicyVerdict.Accept;

    public override string ToString() => Reply is { } r ? r.ToString() : "accept";
}
