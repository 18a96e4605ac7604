namespace Omoikane.Mail.Smtp;

/// <summary>
/// smtpd_forbid_bare_newline with Postfix 3.9's meanings. In every mode only &lt;CR&gt;&lt;LF&gt;.&lt;CR&gt;&lt;LF&gt;
/// ends data (the smtpd DATA decoder), and a bare CR is never a line end.
/// </summary>
public enum BareNewlineMode
{
    /// <summary>"normalize" (default; "yes" is its alias): a line ending in bare LF is taken as ending in CRLF.</summary>
    Normalize,
    /// <summary>"reject": a command or message with a bare LF (or bare CR) is refused with 550 5.5.2 and the client disconnected.</summary>
    Reject,
    /// <summary>
    /// "no": bare LF accepted as in normalize. Postfix's "no" also lets "." + bare LF end data; Omoikane never
    /// does (that is SMTP smuggling), so here "no" and "normalize" behave alike.
    /// </summary>
    No,
}

public static class BareNewlineModes
{
    /// <summary>Parses a value of smtpd_forbid_bare_newline (case-insensitive); false for anything else.</summary>
    public static bool TryParse(string value, out BareNewlineMode mode)
    {
        switch (value.Trim().ToLowerInvariant())
        {
            case "normalize" or "yes": mode = BareNewlineMode.Normalize; return true;
            case "reject": mode = BareNewlineMode.Reject; return true;
            case "no": mode = BareNewlineMode.No; return true;
            default: mode = BareNewlineMode.Normalize; return false;
        }
    }
}
