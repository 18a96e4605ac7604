namespace Omoikane.Cli;

/// <summary>
/// The command line of Postfix's sendmail(1), read the way its getopt string "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx"
/// reads it: flags may be grouped ("-ti"), an option's value may follow it directly ("-fsender") or as the next word.
/// </summary>
public sealed class SendmailOptions
{
    /// <summary>-bm (default), -bp (mailq), -bi (newaliases), -bs (SMTP on stdin/stdout), or "q" for -q.</summary>
    public char Mode { get; private set; } = 'm';
    public bool ExtractRecipients { get; private set; }
    public bool IgnoreDots { get; private set; }
    public string? Sender { get; private set; }
    public string? FullName { get; private set; }
    public string? ConfigDirectory { get; private set; }
    public List<string> Recipients { get; } = new();

    private const string WithValue = "ABCFLNORVXbefhopr";
    private const string Flags = "GIUcimntvx";

    /// <summary>Parses; throws <see cref="CliException"/> with Postfix's wording for what it does not know.</summary>
    public static SendmailOptions Parse(string program, IReadOnlyList<string> args)
    {
        var o = new SendmailOptions();
        int k = 0;
        for (; k < args.Count; k++)
        {
            var a = args[k];
            if (a == "--") { k++; break; }
            if (a.Length < 2 || a[0] != '-') break;
            for (int j = 1; j < a.Length; j++)
            {
                var c = a[j];
                if (c == 'q')
                {
                    // -q, -q30m, -qR...: Postfix flushes the queue; an interval means nothing without a daemon to run it.
                    o.Mode = 'q';
                    break;
                }
                if (WithValue.Contains(c))
                {
                    string value;
                    if (j + 1 < a.Length) value = a[(j + 1)..];
                    else if (k + 1 < args.Count) value = args[++k];
                    else throw Usage(program, $"option requires an argument -- '{c}'");
                    o.Apply(program, c, value);
                    break;
                }
                if (!Flags.Contains(c)) throw Usage(program, $"invalid option -- '{c}'");
                o.Apply(program, c, null);
            }
        }
        for (; k < args.Count; k++) o.Recipients.Add(args[k]);
        return o;
    }

    private void Apply(string program, char c, string? value)
    {
        switch (c)
        {
            case 't': ExtractRecipients = true; break;
            case 'i': IgnoreDots = true; break;
            case 'I': Mode = 'i'; break;
            case 'o' when value!.StartsWith('i'): IgnoreDots = true; break;
            case 'f' or 'r': Sender = value; break;
            case 'F': FullName = value; break;
            case 'C': ConfigDirectory = value; break;
            case 'b':
                Mode = value switch
                {
                    "m" => 'm', "p" => 'p', "i" or "I" => 'i', "s" => 's',
                    _ => throw new CliException($"{program}: fatal: unsupported: -b{value}", 64),
                };
                break;
            // -A -B -L -N -O -R -V -X -e -h -p and the other -o options: accepted and ignored, as Postfix does.
        }
    }

    private static CliException Usage(string program, string what)
        => new($"{program}: {what}\n{program}: fatal: usage: {program} [options]", 64);
}
