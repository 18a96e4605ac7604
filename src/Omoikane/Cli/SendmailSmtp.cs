using System.Text;
using Omoikane.Mail.Config;
using Omoikane.Mail.Pickup;

namespace Omoikane.Cli;

/// <summary>
/// sendmail -bs: an SMTP dialogue on stdin/stdout with the local user (Postfix runs smtpd the same way). Each
/// message goes into the maildrop like any other local submission; the envelope is what MAIL and RCPT say.
/// </summary>
public static class SendmailSmtp
{
    public static async Task<int> RunAsync(string program, LoadedConfig config, SendmailOptions options, Stream input, Stream output)
    {
        var host = config.Main.Get("myhostname");
        var origin = config.Main.Get("myorigin");
        var who = SendmailCommand.Submitter();
        var limit = long.TryParse(config.Main.Get("message_size_limit"), out var l) && l > 0 ? l : long.MaxValue;
        using var reader = new BufferedStream(input);
        await using var writer = new StreamWriter(output, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = false };
        string? sender = null;
        var rcpts = new List<string>();
        await Reply($"220 {host} ESMTP {config.Main.Get("mail_name")}");
        for (int commands = 0; commands < 10000; commands++)
        {
            var line = ReadLine(reader);
            if (line is null) return 0;
            var verb = (line.Split(' ', 2)[0]).ToUpperInvariant();
            var arg = line.Length > verb.Length ? line[(verb.Length + 1)..].Trim() : "";
            switch (verb)
            {
                case "HELO": await Reply($"250 {host}"); break;
                case "EHLO": await Reply($"250-{host}\r\n250-PIPELINING\r\n250-SIZE {(limit == long.MaxValue ? 0 : limit)}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN"); break;
                case "MAIL":
                    if (sender is not null) { await Reply("503 5.5.1 Error: nested MAIL command"); break; }
                    if (!TryPath(arg, "FROM:", out var from)) { await Reply("501 5.5.4 Syntax: MAIL FROM:<address>"); break; }
                    if (from.Length == 0) sender = "<>";
                    else if (MaildropFile.Qualify(from, origin) is { } s) sender = s;
                    else { await Reply("501 5.1.7 Bad sender address syntax"); break; }
                    await Reply("250 2.1.0 Ok");
                    break;
                case "RCPT":
                    if (sender is null) { await Reply("503 5.5.1 Error: need MAIL command"); break; }
                    if (!TryPath(arg, "TO:", out var to)) { await Reply("501 5.5.4 Syntax: RCPT TO:<address>"); break; }
                    if (MaildropFile.Qualify(to, origin) is not { } r) { await Reply("501 5.1.3 Bad recipient address syntax"); break; }
                    rcpts.Add(r);
                    await Reply("250 2.1.5 Ok");
                    break;
                case "DATA":
                    if (sender is null) { await Reply("503 5.5.1 Error: need RCPT command"); break; }
                    if (rcpts.Count == 0) { await Reply("554 5.5.1 Error: no valid recipients"); break; }
                    await Reply("354 End data with <CR><LF>.<CR><LF>");
                    var content = ReadData(reader, limit);
                    if (content is null) { await Reply("552 5.3.4 Message size exceeds fixed limit"); }
                    else
                    {
                        try
                        {
                            var name = SendmailCommand.Drop(program, who, config, new MaildropFile(sender, options.FullName, rcpts.ToList(), content));
                            await Reply($"250 2.0.0 Ok: queued as {name}");
                        }
                        catch (CliException ex) { Console.Error.WriteLine(ex.Message); await Reply("451 4.3.0 Error: queue file write error"); }
                    }
                    sender = null; rcpts.Clear();
                    break;
                case "RSET": sender = null; rcpts.Clear(); await Reply("250 2.0.0 Ok"); break;
                case "NOOP": await Reply("250 2.0.0 Ok"); break;
                case "VRFY": await Reply("252 2.0.0 Send mail to find out"); break;
                case "QUIT": await Reply("221 2.0.0 Bye"); return 0;
                default: await Reply("502 5.5.2 Error: command not recognized"); break;
            }
        }
        await Reply("421 4.7.0 Error: too many commands");
        return 0;

        async Task Reply(string text) { await writer.WriteLineAsync(text); await writer.FlushAsync(); }
    }

    private static bool TryPath(string arg, string prefix, out string address)
    {
        address = "";
        if (!arg.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = arg[prefix.Length..].Trim();
        var end = rest.StartsWith('<') ? rest.IndexOf('>') : rest.IndexOf(' ');
        address = rest.StartsWith('<') ? (end < 0 ? "" : rest[1..end]) : end < 0 ? rest : rest[..end];
        return !rest.StartsWith('<') || end > 0;
    }

    private static string? ReadLine(Stream s) => ReadLineBytes(s, 4096) is { } b ? Encoding.UTF8.GetString(b).TrimEnd('\r') : null;

    /// <summary>One line without its LF (bytes past max are dropped); null at end of input.</summary>
    private static byte[]? ReadLineBytes(Stream s, int max)
    {
        var bytes = new List<byte>();
        int b;
        while ((b = s.ReadByte()) >= 0 && b != '\n') { if (bytes.Count < max) bytes.Add((byte)b); }
        if (b < 0 && bytes.Count == 0) return null;
        if (bytes.Count > 0 && bytes[^1] == '\r') bytes.RemoveAt(bytes.Count - 1);
        return bytes.ToArray();
    }

    /// <summary>DATA content up to the lone dot, dot-unstuffed, LF line ends; null past the limit (read to the dot all the same).</summary>
    private static byte[]? ReadData(Stream s, long limit)
    {
        using var ms = new MemoryStream();
        bool tooBig = false;
        while (ReadLineBytes(s, 1 << 20) is { } line)
        {
            if (line is [(byte)'.']) break;
            var text = line.AsSpan(line.Length > 0 && line[0] == '.' ? 1 : 0);
            if (tooBig) continue;
            ms.Write(text);
            ms.WriteByte((byte)'\n');
            tooBig = ms.Length > limit;
        }
        return tooBig ? null : ms.ToArray();
    }
}
