using System.CommandLine;
using Omoikane.Mail.Authentication;
using Omoikane.Mail.Authentication.Dkim;

namespace Omoikane.Cli;

/// <summary>omoikane dkim keygen DOMAIN [--selector S] [--type rsa|ed25519] (docs/authentication.md).</summary>
public static class DkimCommand
{
    public static Command Create()
    {
        var dkim = new Command("dkim", "DKIM signing keys");

        var domain = new Argument<string>("domain") { Description = "The signing domain (d=)" };
        var selector = new Option<string?>("--selector") { Description = "The selector (s=); default: dkim_selector" };
        var type = new Option<string>("--type") { Description = "rsa (2048 bits) or ed25519", DefaultValueFactory = _ => "rsa" };
        type.AcceptOnlyFromAmong("rsa", "ed25519");
        var keygen = new Command("keygen", "Make a key in dkim_key_directory (DOMAIN.SELECTOR.key, mode 0600) and print the TXT record to publish")
        {
            domain, selector, type,
        };
        keygen.SetAction(parse =>
        {
            var config = CliConfig.Load(parse);
            var d = parse.GetValue(domain)!.Trim().TrimEnd('.').ToLowerInvariant();
            var s = parse.GetValue(selector) ?? config.Main.Get("dkim_selector");
            if (!Mail.Authentication.Spf.SpfChecker.IsValidDomain(d) || d.Contains('/'))
                throw new CliException($"dkim keygen: \"{d}\" is not a domain name");
            if (s.Length == 0 || s.Length > 63 || s.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                throw new CliException($"dkim keygen: \"{s}\" is not a valid selector");
            var path = Path.Combine(config.Main.Get("dkim_key_directory"), DkimSigningKey.FileName(d, s));
            if (File.Exists(path)) throw new CliException($"dkim keygen: {path} exists; remove it or choose another --selector");
            var key = DkimKeyGenerator.Generate(parse.GetValue(type) == "ed25519" ? DkimKeyType.Ed25519 : DkimKeyType.Rsa);
            try { DkimKeyGenerator.WriteKeyFile(path, key); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"dkim keygen: cannot write {path}: {ex.Message}");
            }
            Console.WriteLine(key.ZoneLine(d, s));
            var listed = config.Main.GetList("dkim_signing_domains").Any(e => e.Split(':')[0].Equals(d, StringComparison.OrdinalIgnoreCase));
            Console.Error.WriteLine($"omoikane: key written to {path}; publish the record above"
                + (listed ? "" : $", then add {d}{(s == config.Main.Get("dkim_selector") ? "" : ":" + s)} to dkim_signing_domains"));
            return 0;
        });
        dkim.Subcommands.Add(keygen);
        return dkim;
    }
}
