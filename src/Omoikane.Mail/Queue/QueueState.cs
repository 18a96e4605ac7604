using System.Globalization;
using System.Text;

namespace Omoikane.Mail.Queue;

/// <summary>
/// Delivery state of a message that could not be finished in one attempt: recipients already done,
/// the last deferral reason per recipient, attempt count, next attempt time, hold flag. Stored in
/// queue_directory/state/ID, replaced atomically (write, fsync, rename).
/// </summary>
public sealed class QueueState
{
    public int Attempts { get; set; }
    public DateTimeOffset NextAttempt { get; set; }
    public DateTimeOffset? LastAttempt { get; set; }
    public bool Hold { get; set; }
    public DateTimeOffset? DelayWarningSent { get; set; }
    public HashSet<string> Done { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Reasons { get; } = new(StringComparer.Ordinal);

    public static QueueState? Load(string path)
    {
        if (!File.Exists(path)) return null;
        var s = new QueueState();
        foreach (var line in File.ReadAllLines(path))
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0) continue;
            var name = line[..colon]; var value = line[(colon + 2)..];
            switch (name)
            {
                case "attempts": s.Attempts = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "next": s.NextAttempt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value, CultureInfo.InvariantCulture)); break;
                case "last": s.LastAttempt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value, CultureInfo.InvariantCulture)); break;
                case "warned": s.DelayWarningSent = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value, CultureInfo.InvariantCulture)); break;
                case "hold": s.Hold = value == "yes"; break;
                case "done": s.Done.Add(value); break;
                case "reason":
                    var tab = value.IndexOf('\t');
                    if (tab > 0) s.Reasons[value[..tab]] = value[(tab + 1)..];
                    break;
            }
        }
        return s;
    }

    public void Save(string path)
    {
        var sb = new StringBuilder();
        sb.Append("attempts: ").Append(Attempts.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("next: ").Append(NextAttempt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (LastAttempt is { } last) sb.Append("last: ").Append(last.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (DelayWarningSent is { } w) sb.Append("warned: ").Append(w.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (Hold) sb.Append("hold: yes\n");
        foreach (var d in Done) sb.Append("done: ").Append(d.Replace('\n', ' ')).Append('\n');
        foreach (var (k, v) in Reasons) sb.Append("reason: ").Append(k.Replace('\n', ' ')).Append('\t').Append(v.Replace('\n', ' ').Replace('\t', ' ')).Append('\n');
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(Encoding.UTF8.GetBytes(sb.ToString()));
            fs.Flush(true);
        }
        File.Move(tmp, path, overwrite: true);
        GroupCommit.FsyncDirectory(Path.GetDirectoryName(path)!);
    }
}
