using Omoikane.Bench;

// Entry point: parse options, run one measurement, print one result line on stdout.
// Exit codes: 0 all went as asked, 1 the run finished but incomplete, 2 usage or fatal error.
Options o;
try
{
    if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
    {
        Console.WriteLine(Options.Usage);
        return args.Length == 0 ? 2 : 0;
    }
    o = Options.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"omoikane-bench: {e.Message}");
    return 2;
}

try
{
    return o.Mode switch
    {
        Mode.Idle => await IdleHold.RunAsync(o),
        Mode.Pop3 => await Pop3Retrieve.RunAsync(o),
        Mode.MakeMaildrop => Maildrop.Make(o),
        _ => await SmtpLoad.RunAsync(o),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"omoikane-bench: {o.Mode.ToString().ToLowerInvariant()} target={o.Target}: {e.GetType().Name}: {e.Message}");
    return 2;
}
