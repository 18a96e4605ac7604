using System.CommandLine;
using Omoikane.Mail.Config;

namespace Omoikane.Cli;

/// <summary>omoikane config [-n] [NAME...]: effective parameter values, like postconf.</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var nonDefault = new Option<bool>("-n") { Description = "Only parameters set explicitly in main.cf" };
        var expand = new Option<bool>("-x") { Description = "Expand $name references in values" };
        var defaults = new Option<bool>("-d") { Description = "Print default values" };
        var names = new Argument<string[]>("name") { Arity = ArgumentArity.ZeroOrMore, Description = "Parameter names" };
        var cmd = new Command("config", "Print parameter values (like postconf)") { nonDefault, expand, defaults, names };
        cmd.SetAction(parse =>
        {
            var config = CliConfig.Load(parse, failOnErrors: false);
            var p = config.Main;
            bool x = parse.GetValue(expand), d = parse.GetValue(defaults);
            string Value(string n) => d ? (x ? p.ExpandText(p.DefaultRaw(n)) : p.DefaultRaw(n)) : x ? p.Get(n) : p.GetRaw(n) ?? "";
            var requested = parse.GetValue(names) ?? [];
            int rc = 0;
            if (requested.Length > 0)
            {
                foreach (var n in requested)
                {
                    if (!ParameterTable.IsKnown(n) && !p.IsExplicit(n))
                    {
                        Console.Error.WriteLine($"omoikane: warning: {n}: unknown parameter");
                        rc = 1;
                        continue;
                    }
                    if (parse.GetValue(nonDefault) && !p.IsExplicit(n)) continue;
                    Console.WriteLine($"{n} = {Value(n)}");
                }
                return rc;
            }
            IEnumerable<string> all = parse.GetValue(nonDefault)
                ? p.ExplicitEntries.Where(e => e.Line > 0 || config.Embedded).Select(e => e.Name)
                : ParameterTable.All.Select(def => def.Name).Concat(p.ExplicitEntries.Select(e => e.Name));
            foreach (var n in all.Distinct().OrderBy(n => n, StringComparer.Ordinal))
                Console.WriteLine($"{n} = {Value(n)}");
            return 0;
        });
        return cmd;
    }
}
