using System.Text;

namespace Omoikane.Server.Smtp;

/// <summary>
/// SMTP command synchronization (RFC 5321 §4.3, RFC 2920 §3.1), as Postfix 3.9's smtpd checks it: a client
/// that talks before the greeting, pipelines while it has not said EHLO (so PIPELINING was never
/// announced), or sends more after a command that must end a pipelined group (EHLO, HELO, DATA, NOOP,
/// VRFY) is flagged once, logged ("improper command pipelining after CMD from name[ip]: ..."), and with
/// smtpd_forbid_unauth_pipelining = yes answered "554 5.5.0 Error: SMTP protocol synchronization" and
/// disconnected. The flag also drives the reject_unauth_pipelining restriction.
/// </summary>
public sealed partial class SmtpSession
{
    private bool _illegalPipelining;
    private bool _pipeliningAnnounced;  // an EHLO was answered; HELO afterwards does not take it back (Postfix)

    private static bool MustEndPipelineGroup(string verb) => verb is "EHLO" or "HELO" or "DATA" or "NOOP" or "VRFY";

    private static bool IsSmtpCommand(string verb) => verb is "EHLO" or "HELO" or "MAIL" or "RCPT" or "DATA" or "BDAT"
        or "RSET" or "NOOP" or "QUIT" or "VRFY" or "HELP" or "STARTTLS" or "AUTH" or "ETRN";

    /// <summary>Before a command runs: true to go on, false when the session ends for lack of synchronization.</summary>
    private ValueTask<bool> CommandSynchronizedAsync(string verb) =>
        IsSmtpCommand(verb) && (!_pipeliningAnnounced || MustEndPipelineGroup(verb))
            ? SynchronizedAsync(verb)
            : ValueTask.FromResult(true);

    /// <summary>The test itself: is anything from the client waiting that it should not have sent yet?</summary>
    private async ValueTask<bool> SynchronizedAsync(string where)
    {
        if (_illegalPipelining) return true;
        var pending = await _conn.PeekPendingInputAsync(100, _stopping).ConfigureAwait(false);
        if (pending.Length == 0) return true;
        _illegalPipelining = true;
        Log($"improper command pipelining after {where} from {_clientLog}: {Escape(pending)}");
        if (!_opt.ForbidUnauthPipelining) return true;
        await ReplyAsync(554, "5.5.0", "Error: SMTP protocol synchronization").ConfigureAwait(false);
        await FlushAsync(_stopping).ConfigureAwait(false);
        return false;
    }

    /// <summary>Postfix's escape(3): printable ASCII as is (backslash doubled), C escapes for controls, octal otherwise.</summary>
    internal static string Escape(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder(data.Length + 16);
        foreach (var b in data)
        {
            switch (b)
            {
                case (byte)'\\': sb.Append(@"\\"); break;
                case >= 0x20 and < 0x7f: sb.Append((char)b); break;
                case 0x07: sb.Append(@"\a"); break;
                case 0x08: sb.Append(@"\b"); break;
                case 0x0c: sb.Append(@"\f"); break;
                case 0x0a: sb.Append(@"\n"); break;
                case 0x0d: sb.Append(@"\r"); break;
                case 0x09: sb.Append(@"\t"); break;
                case 0x0b: sb.Append(@"\v"); break;
                default: sb.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0')); break;
            }
        }
        return sb.ToString();
    }
}
