using System.Text;

namespace Omoikane.Mail.Policy.Tables;

/// <summary>
/// The line discipline shared by Postfix text tables (postmap(1) input, cidr_table(5), aliases(5)):
/// '#' at the start of a line (after optional white space) is a comment, empty lines are skipped,
/// and a line that starts with white space continues the previous logical line.
/// </summary>
internal static class TextTableReader
{
    public static IEnumerable<(string Line, int LineNumber)> LogicalLines(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        StringBuilder? current = null;
        int start = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            var raw = lines[i];
            var trimmed = raw.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#') continue;
            if (char.IsWhiteSpace(raw[0]) && current is not null)
            {
                current.Append(' ').Append(trimmed);
                continue;
            }
            if (current is not null) yield return (current.ToString(), start);
            current = new StringBuilder(trimmed);
            start = i + 1;
        }
        if (current is not null) yield return (current.ToString(), start);
    }
}
