namespace Omoikane.Mail.Smtp;

/// <summary>
/// An SMTP reply as a value: basic code (RFC 5321 §4.2), enhanced status code (RFC 3463/2034)
/// and text. Shared by the server, the policy engine and the SMTP client.
/// </summary>
public readonly record struct SmtpReply(int Code, string? Enhanced, string Text)
{
    public bool IsPositive => Code is >= 200 and < 400;
    public bool IsTransient => Code is >= 400 and < 500;
    public bool IsPermanent => Code >= 500;

    /// <summary>"550 5.1.1 text" — the form written in logs and on the wire (single line).</summary>
    public override string ToString() => Enhanced is null ? $"{Code} {Text}" : $"{Code} {Enhanced} {Text}";

    public static SmtpReply Parse(string line)
    {
        // "550 5.7.1 text" / "550 text"
        if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code))
            return new SmtpReply(451, "4.3.0", line);
        var rest = line.Length > 4 ? line[4..] : "";
        var sp = rest.IndexOf(' ');
        var first = sp < 0 ? rest : rest[..sp];
        if (IsEnhanced(first))
            return new SmtpReply(code, first, sp < 0 ? "" : rest[(sp + 1)..]);
        return new SmtpReply(code, null, rest);
    }

    public static bool IsEnhanced(string s)
    {
        var parts = s.Split('.');
        return parts.Length == 3 && parts[0] is "2" or "4" or "5"
            && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit));
    }
}
