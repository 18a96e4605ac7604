using System.Text;

namespace Omoikane.Server.Smtp;

/// <summary>
/// Per-command counters for the "disconnect from ... ehlo=1 mail=1 rcpt=0/1 quit=1 commands=2/3" line
/// (Postfix smtpd: "name=ok/total" when some failed, "name=n" when all succeeded), in Postfix's order.
/// </summary>
public sealed class SmtpCommandCounters
{
    private static readonly string[] Order = ["helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop", "vrfy", "etrn", "quit", "unknown"];
    private readonly int[] _total = new int[Order.Length];
    private readonly int[] _ok = new int[Order.Length];

    public void Count(string name, bool ok)
    {
        var i = Array.IndexOf(Order, name);
        if (i < 0) i = Order.Length - 1;
        _total[i]++;
        if (ok) _ok[i]++;
    }

    public int Total => _total.Sum();

    public override string ToString()
    {
        var sb = new StringBuilder();
        int total = 0, ok = 0;
        for (int i = 0; i < Order.Length; i++)
        {
            if (_total[i] == 0) continue;
            total += _total[i]; ok += _ok[i];
            sb.Append(' ').Append(Order[i]).Append('=');
            if (_ok[i] == _total[i]) sb.Append(_total[i]);
            else sb.Append(_ok[i]).Append('/').Append(_total[i]);
        }
        sb.Append(" commands=");
        if (ok == total) sb.Append(total); else sb.Append(ok).Append('/').Append(total);
        return sb.ToString();
    }
}
