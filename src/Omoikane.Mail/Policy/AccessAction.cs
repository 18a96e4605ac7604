namespace Omoikane.Mail.Policy;

/// <summary>The actions of an access(5) table result.</summary>
public enum AccessAction
{
    Ok, Reject, Defer, DeferIfReject, DeferIfPermit, Code, Dunno, Warn, Info,
    Hold, Discard, Filter, Redirect, Bcc, Prepend, Hangup,
    /// <summary>A restriction list such as "permit_mynetworks, reject" (or a restriction class name).</summary>
    Restrictions,
    /// <summary>A "type:name" inside a result: forbidden by Postfix (define a restriction class instead).</summary>
    TableReference,
}
