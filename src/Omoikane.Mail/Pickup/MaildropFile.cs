using System.Security.Cryptography;
using System.Text;

namespace Omoikane.Mail.Pickup;

/// <summary>
/// A message waiting in $queue_directory/maildrop: what the submitting program asked for (envelope sender
/// given with -f, full name given with -F, recipients), then the content with LF line endings. Who submitted
/// it is not in the file: the server takes the file's owner as the kernel recorded it.
/// <code>
/// OMOIKANE-MAILDROP 1
/// S alice@example.com      (optional: -f)
/// F Alice Example          (optional: -F)
/// R bob@example.com        (one or more)
///                          (empty line, then the content)
/// </code>
/// </summary>
public sealed record MaildropFile(string? Sender, string? FullName, IReadOnlyList<string> Recipients, ReadOnlyMemory<byte> Content)
{
    public const string Magic = "OMOIKANE-MAILDROP 1";
    /// <summary>The maildrop directory under queue_directory: sticky, writable and searchable by all, not listable (1733).</summary>
    public const string DirectoryName = "maildrop";
    public const UnixFileMode DirectoryMode = UnixFileMode.StickyBit | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
    /// <summary>Room for the envelope records beyond message_size_limit.</summary>
    public const int EnvelopeAllowance = 64 * 1024;

    /// <summary>A record value is one line of printable text (no C0 control, no DEL) of at most 998 characters.</summary>
    public static bool IsValidValue(string v) => v.Length is > 0 and <= 998 && !v.Any(c => c < ' ' || c == '\x7f');

    /// <summary>
    /// An address as local submission takes it: a bare user name gets "@$myorigin" (Postfix's
    /// append_at_myorigin); null when it is not a valid mailbox.
    /// </summary>
    public static string? Qualify(string text, string myOrigin)
    {
        text = text.Trim();
        if (text.StartsWith('<') && text.EndsWith('>')) text = text[1..^1];
        if (text.Length == 0 || !IsValidValue(text)) return null;
        if (!text.Contains('@')) text = text + "@" + myOrigin;
        return Addressing.PathParser.ParseMailbox(text, utf8: true, out var address) == Addressing.PathError.None && !address.IsNull
            ? address.ToString() : null;
    }

    public byte[] Serialize()
    {
        var sb = new StringBuilder(Magic).Append('\n');
        if (Sender is not null) sb.Append("S ").Append(Sender).Append('\n');
        if (FullName is not null) sb.Append("F ").Append(FullName).Append('\n');
        foreach (var r in Recipients) sb.Append("R ").Append(r).Append('\n');
        sb.Append('\n');
        var head = Encoding.UTF8.GetBytes(sb.ToString());
        var all = new byte[head.Length + Content.Length];
        head.CopyTo(all, 0);
        Content.Span.CopyTo(all.AsSpan(head.Length));
        return all;
    }

    /// <summary>Parses a maildrop file strictly: null and the reason when anything is out of place.</summary>
    public static MaildropFile? TryParse(ReadOnlyMemory<byte> data, out string? error)
    {
        error = null;
        string? sender = null, fullName = null;
        var rcpts = new List<string>();
        var span = data.Span;
        int pos = 0, lineNo = 0;
        while (true)
        {
            var nl = span[pos..].IndexOf((byte)'\n');
            if (nl < 0) { error = "no end of envelope"; return null; }
            string line;
            try { line = new UTF8Encoding(false, true).GetString(span.Slice(pos, nl)); }
            catch (DecoderFallbackException) { error = $"envelope line {lineNo + 1} is not UTF-8"; return null; }
            pos += nl + 1;
            lineNo++;
            if (lineNo == 1)
            {
                if (line != Magic) { error = "not a maildrop file"; return null; }
                continue;
            }
            if (line.Length == 0) break;
            if (line.Length < 3 || line[1] != ' ' || !IsValidValue(line[2..])) { error = $"malformed envelope line {lineNo}"; return null; }
            var value = line[2..];
            switch (line[0])
            {
                case 'S' when sender is null: sender = value; break;
                case 'F' when fullName is null: fullName = value; break;
                case 'R': rcpts.Add(value); break;
                default: error = $"unexpected envelope line {lineNo}"; return null;
            }
            if (rcpts.Count > 10000) { error = "too many recipients"; return null; }
        }
        if (rcpts.Count == 0) { error = "no recipients"; return null; }
        return new MaildropFile(sender, fullName, rcpts, data[pos..]);
    }

    /// <summary>
    /// Writes the file the way postdrop does: created exclusively under a random name starting with a dot
    /// (pickup skips those), made durable, then renamed to its final name, which pickup may take at once.
    /// Returns the final name.
    /// </summary>
    public static string Drop(string maildropDirectory, MaildropFile message, bool readableByServer)
    {
        var name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var temp = Path.Combine(maildropDirectory, "." + name);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var fs = new FileStream(temp, options))
            {
                // A server running under its own account (not root) reads other users' files through "other":
                // the random name, in a directory nobody else can list, is the only handle on it.
                if (readableByServer && !OperatingSystem.IsWindows())
                    File.SetUnixFileMode(fs.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                fs.Write(message.Serialize());
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, Path.Combine(maildropDirectory, name));
            return name;
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
