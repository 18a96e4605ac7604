using System.Text;
using Omoikane.Mail.Config;
using Omoikane.Mail.Pickup;
using Omoikane.Mail.Queue;
using Omoikane.Server.Pickup;

namespace Omoikane.Cli;

/// <summary>
/// omoikane sendmail (and the same program run as sendmail, mailq or newaliases): local submission like
/// Postfix's sendmail(1) and postdrop(1). The message goes into $queue_directory/maildrop, whether the
/// server runs or not; the server's pickup queues it (CONTRACT.md "Local submission").
/// </summary>
public static class SendmailCommand
{
    private const int ExUsage = 64, ExDataErr = 65, ExUnavailable = 69, ExTempFail = 75, ExConfig = 78;

    /// <summary>For --help: the real work is done before the verb parser sees the arguments (Postfix's option syntax).</summary>
    public static System.CommandLine.Command Create()
    {
        var cmd = new System.CommandLine.Command("sendmail", "Submit a message from stdin like Postfix's sendmail (-t -i -f -F -bs -bp -bi -q); also run as sendmail, mailq, newaliases");
        cmd.SetAction(_ => 0);
        return cmd;
    }

    /// <summary>The name the program was started under (argv[0], e.g. a symlink's name), when it is one of ours.</summary>
    public static string? InvokedAs()
    {
        try
        {
            var cmdline = File.ReadAllBytes("/proc/self/cmdline");
            var end = Array.IndexOf(cmdline, (byte)0);
            var argv0 = Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end);
            var name = Path.GetFileName(argv0);
            return name is "sendmail" or "mailq" or "newaliases" ? name : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    public static async Task<int> RunAsync(string program, string[] args, string? configDirectory)
    {
        try
        {
            var o = SendmailOptions.Parse(program, program switch { "mailq" => ["-bp", .. args], "newaliases" => ["-bi", .. args], _ => args });
            var config = ConfigLoader.Load(ConfigDirectory(o.ConfigDirectory ?? configDirectory));
            if (config.Diagnostics.HasErrors)
                throw new CliException($"{program}: fatal: {config.Diagnostics.Errors.First()}", ExConfig);
            return o.Mode switch
            {
                'p' => Mailq(program, config),
                'i' => Newaliases(config),
                'q' => Flush(program, config),
                's' => await SendmailSmtp.RunAsync(program, config, o, Console.OpenStandardInput(), Console.OpenStandardOutput()).ConfigureAwait(false),
                _ => Submit(program, config, o, Console.OpenStandardInput()),
            };
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return ex.ExitCode;
        }
    }

    /// <summary>Where programs that run /usr/sbin/sendmail without options find the configuration, as Postfix's is in /etc/postfix.</summary>
    public const string SystemConfigDirectory = "/etc/omoikane";

    /// <summary>-C DIR or --config DIR, then MAIL_CONFIG (as Postfix's sendmail), then /etc/omoikane when it has a main.cf, else the embedded default.</summary>
    private static string? ConfigDirectory(string? given)
    {
        if (given is not null) return given;
        if (Environment.GetEnvironmentVariable("MAIL_CONFIG") is { Length: > 0 } env) return env;
        return File.Exists(Path.Combine(SystemConfigDirectory, "main.cf")) ? SystemConfigDirectory : null;
    }

    /// <summary>"user(uid)", as Postfix's sendmail names the submitter in its errors.</summary>
    internal static string Submitter()
    {
        var uid = UnixFiles.UserId;
        return $"{UnixFiles.PasswdEntry(uid)?.Name ?? "unknown"}({uid})";
    }

    private static int Submit(string program, LoadedConfig config, SendmailOptions o, Stream stdin)
    {
        var who = Submitter();
        var limit = long.TryParse(config.Main.Get("message_size_limit"), out var l) && l > 0 ? l : long.MaxValue;
        var content = ReadMessage(stdin, o.IgnoreDots, limit) ?? throw new CliException($"{program}: fatal: {who}: Message file too big", ExDataErr);
        var origin = config.Main.Get("myorigin");
        var recipients = new List<string>();
        foreach (var arg in o.Recipients) AddRecipients(program, who, origin, arg, recipients);
        if (o.ExtractRecipients)
            foreach (var r in MessageHeader.Parse(content).Recipients()) AddRecipients(program, who, origin, r, recipients);
        if (recipients.Count == 0)
            throw new CliException(o.ExtractRecipients
                ? $"{program}: fatal: {who}: No recipient addresses found in message header"
                : $"{program}: fatal: {who}: Recipient addresses must be specified on the command line or via the -t option", ExUsage);
        string? sender = o.Sender;
        if (sender is not null)
        {
            sender = sender.Trim() is "" or "<>" ? "<>" : MaildropFile.Qualify(sender, origin)
                ?? throw new CliException($"{program}: fatal: {who}: bad sender address syntax: {sender}", ExDataErr);
        }
        var fullName = o.FullName is null ? null : new string(o.FullName.Where(c => c >= ' ' && c != '\x7f').ToArray()).Trim();
        var drop = new MaildropFile(sender, fullName is { Length: > 0 } ? fullName : null, recipients, content);
        Drop(program, who, config, drop);
        return 0;
    }

    private static void AddRecipients(string program, string who, string origin, string text, List<string> into)
    {
        // One argument may hold a list ("a@example.com, b@example.com"), as Postfix's sendmail allows.
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var address = MaildropFile.Qualify(part, origin) ?? throw new CliException($"{program}: fatal: {who}: bad recipient address syntax: {part}", ExDataErr);
            if (!into.Contains(address, StringComparer.OrdinalIgnoreCase)) into.Add(address);
        }
    }

    /// <summary>Writes the maildrop file; the directory is made when this user may (root, or the server's own account).</summary>
    internal static string Drop(string program, string who, LoadedConfig config, MaildropFile drop)
    {
        var dir = Path.Combine(config.QueueDirectory, MaildropFile.DirectoryName);
        if (!Directory.Exists(dir))
        {
            try { Directory.CreateDirectory(config.QueueDirectory); PickupService.EnsureDirectory(config.QueueDirectory); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"{program}: fatal: {who}: queue directory {config.QueueDirectory} has no maildrop and it cannot be made: {ex.Message}", ExUnavailable);
            }
        }
        // A server that runs under its own account, not root, must be able to read another user's file.
        var owner = UnixFiles.LStat(dir)?.Uid ?? 0;
        var readable = owner != 0 && owner != UnixFiles.UserId;
        try { return MaildropFile.Drop(dir, drop, readable); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{program}: fatal: {who}: cannot write to {dir}: {ex.Message}", ExTempFail);
        }
    }

    /// <summary>
    /// Reads the message: CR LF made LF, a leading mbox "From " line dropped, and unless -i a line with a lone
    /// dot ends it. Null when it is larger than the limit.
    /// </summary>
    internal static byte[]? ReadMessage(Stream input, bool ignoreDots, long limit)
    {
        using var reader = new BufferedStream(input, 64 * 1024);
        using var output = new MemoryStream();
        var line = new List<byte>(1024);
        bool first = true;
        while (true)
        {
            line.Clear();
            int b;
            while ((b = reader.ReadByte()) >= 0 && b != '\n') line.Add((byte)b);
            if (b < 0 && line.Count == 0) break;
            if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
            if (!ignoreDots && line.Count == 1 && line[0] == '.') break;
            if (first && line.Count >= 5 && Encoding.ASCII.GetString(line.GetRange(0, 5).ToArray()) == "From ") { first = false; continue; }
            first = false;
            output.Write(line.ToArray());
            output.WriteByte((byte)'\n');
            if (output.Length > limit) return null;
            if (b < 0) break;
        }
        return output.ToArray();
    }

    private static int Mailq(string program, LoadedConfig config)
    {
        try
        {
            Console.Write(QueueCommands.Listing(new Spool(config.QueueDirectory, new GroupCommit())));
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{program}: fatal: cannot read the queue: {ex.Message}", ExUnavailable);
        }
    }

    /// <summary>newaliases: the alias tables are read as they are (no database to build); this checks them.</summary>
    private static int Newaliases(LoadedConfig config)
    {
        var diags = new ConfigDiagnostics();
        var tables = new Mail.Policy.Tables.TableFactory(config.ConfigDirectory);
        foreach (var spec in config.Main.GetList("alias_maps")) tables.CreateAliasMap(spec, diags, config.MainCfPath);
        foreach (var d in diags.Items) Console.Error.WriteLine($"newaliases: {(d.Severity == DiagnosticSeverity.Error ? "fatal" : "warning")}: {d}");
        return diags.HasErrors ? ExConfig : 0;
    }

    private static int Flush(string program, LoadedConfig config)
    {
        try { File.WriteAllText(Path.Combine(config.QueueDirectory, "flush"), ""); return 0; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{program}: fatal: cannot flush the queue: {ex.Message}", ExTempFail);
        }
    }
}
