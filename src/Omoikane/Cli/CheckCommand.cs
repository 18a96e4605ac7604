using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Omoikane.Mail.Config;
using Omoikane.Mail.Credentials;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Server.Hosting;
using Omoikane.Server.Transport;

namespace Omoikane.Cli;

/// <summary>
/// omoikane check (like postfix check): parses main.cf and master.cf, compiles every restriction list and
/// table of every service, opens certificates, and checks the data directories and the user store, and the
/// permissions of configuration files, tables, directories and secrets (<see cref="CheckPermissions"/>).
/// Prints one line per finding ("FILE:LINE: error: ..."); exit 1 when there is an error.
/// With --migration, or when the directory looks like Postfix's own (its master.cf runs Postfix's internal
/// services), it also prints the migration report: one line per main.cf parameter saying whether Omoikane
/// honours, ignores or rejects it (or does not know it), and a summary line.
/// </summary>
public static partial class CheckCommand
{
    public static Command Create()
    {
        var migration = new Option<bool>("--migration") { Description = "Also report, for each main.cf parameter, whether Omoikane honours, ignores or rejects it" };
        var cmd = new Command("check", "Validate configuration, tables, certificates, hosts.allow/hosts.deny and directories");
        cmd.Options.Add(migration);
        cmd.SetAction(parse =>
        {
            var config = CliConfig.Load(parse, failOnErrors: false);
            var (all, notes) = Run(config);
            foreach (var n in notes) Console.WriteLine(n);
            // Errors go to stderr (a script that reads only stderr learns what is wrong), warnings to stdout.
            foreach (var d in all)
                if (d.Severity == DiagnosticSeverity.Error) Console.Error.WriteLine(d.ToString()); else Console.WriteLine(d.ToString());
            if (parse.GetValue(migration) || LooksLikePostfix(config))
                foreach (var line in MigrationReport(config, all)) Console.WriteLine(line);
            var errors = all.Count(d => d.Severity == DiagnosticSeverity.Error);
            if (errors > 0)
            {
                Console.Error.WriteLine($"omoikane: check found {errors} error(s)");
                return 1;
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>Every check of "omoikane check" (serve and reload refuse a configuration with errors here).</summary>
    public static (IReadOnlyList<ConfigDiagnostic> Diagnostics, IReadOnlyList<string> Notes) Run(LoadedConfig config)
    {
        var diags = config.Diagnostics;
        var extra = new ConfigDiagnostics();
        var notes = new List<string>(config.Notes);
        var file = config.MainCfPath;
        var tables = new TableFactory(config.ConfigDirectory);
        if (!diags.HasErrors)
        {
            foreach (var spec in config.Main.GetList("alias_maps")) tables.CreateAliasMap(spec, extra, file);
            foreach (var service in config.Services)
            {
                var p = config.For(service);
                if (service.IsSmtpd)
                    SmtpdPolicy.Create(new PolicyOptions { Parameters = p, Tables = tables }, extra);
                CheckTls(config, service, p, extra, notes);
            }
            if (config.Main.GetBool("pop3d_apop_enable") && config.Services.Any(s => s.IsPop3d))
                extra.Warning(file, config.Main.Source("pop3d_apop_enable")?.Line ?? 0,
                    "pop3d_apop_enable = yes: APOP needs the plaintext password in the user store and its MD5 challenge is weak (CVE-2007-1558); offer STLS or POP3S (995) and prefer AUTH SCRAM-SHA-256");
            CheckLocalDelivery(config, tables, extra, file);
            CheckDirectory(config.DataDirectory, "data_directory", extra, file);
            var users = config.Main.Get("user_database");
            if (File.Exists(users))
            {
                try { new FileUserStore(users, CredentialOptions.FromParameters(config.Main)).List(); }
                catch (Exception ex) when (ex is UserStoreException or IOException) { extra.Error(users, 0, ex.Message); }
            }
        }
        if (!diags.HasErrors) CheckPermissions.Check(config, extra);
        var hostsDir = config.Main.Get("hosts_access_directory");
        if (hostsDir.Length > 0)
            foreach (var d in HostsAccess.Validate(hostsDir)) extra.Add(d);
        return (diags.Items.Concat(extra.Items).Distinct().ToList(), notes);
    }

    /// <summary>A Postfix directory: master.cf runs Postfix's internal services, or main.cf sets Postfix's install paths.</summary>
    private static bool LooksLikePostfix(LoadedConfig config)
        => config.Notes.Any(n => n.Contains("is internal to Postfix", StringComparison.Ordinal))
           || config.Main.IsExplicit("daemon_directory") || config.Main.IsExplicit("command_directory");

    /// <summary>
    /// "migration: honoured|ignored|rejected|unknown NAME (FILE:LINE): why" for every explicit main.cf parameter
    /// and -o override, then a summary. Rejected: a parameter Omoikane knows, with a value it refuses (an error above);
    /// ignored: accepted without effect, with what happens instead (IgnoredParameters).
    /// </summary>
    public static IEnumerable<string> MigrationReport(LoadedConfig config, IReadOnlyCollection<ConfigDiagnostic> diagnostics)
    {
        int honoured = 0, ignored = 0, rejected = 0, unknown = 0;
        var entries = config.Main.ExplicitEntries.Where(e => e.Line > 0)
            .Concat(config.Services.SelectMany(s => s.Overrides))
            .OrderBy(e => e.File, StringComparer.Ordinal).ThenBy(e => e.Line).ToList();
        var postfixState = new[] { "/var/lib/postfix", "/var/spool/postfix" };
        foreach (var e in entries)
        {
            var where = $"{e.Name} ({e.File}:{e.Line})";
            var error = ParameterTable.IsKnown(e.Name)
                ? diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error && d.File == e.File && d.Line == e.Line) : null;
            if (error is not null)
            {
                rejected++;
                yield return $"migration: rejected  {where}: {error.Message}";
            }
            else if (IgnoredParameters.TryGetReason(e.Name, out var instead))
            {
                ignored++;
                yield return $"migration: ignored   {where}: {instead}";
            }
            else if (ParameterTable.IsKnown(e.Name))
            {
                honoured++;
                var own = ParameterTable.TryGet(e.Name, out var def) && def.Omoikane ? "Omoikane's own parameter" : "as Postfix documents it";
                if (e.Name is "data_directory" or "queue_directory" && postfixState.Any(p => e.Value.TrimEnd('/').StartsWith(p, StringComparison.Ordinal)))
                    yield return $"migration: honoured  {where}: {e.Value} belongs to Postfix; give Omoikane its own (data_directory = /var/lib/omoikane) and remove queue_directory";
                else
                    yield return $"migration: honoured  {where}: {own}";
            }
            else
            {
                unknown++;
                yield return $"migration: unknown   {where}: not a parameter Omoikane knows; it has no effect (remove it or find the Omoikane way)";
            }
            foreach (var (kind, token, why) in OldRestrictionNames(e.Value))
                yield return $"migration: {kind} {token} in {where}: {why}";
        }
        yield return $"migration: {entries.Count} parameter(s): {honoured} honoured, {ignored} ignored, {rejected} rejected, {unknown} unknown";
    }

    /// <summary>Restriction names Postfix renamed (accepted) or removed (an error) in a value, each with its replacement.</summary>
    private static IEnumerable<(string Kind, string Name, string Why)> OldRestrictionNames(string value)
    {
        foreach (var token in Parameters.SplitList(value))
        {
            if (RestrictionCompiler.RenamedNames.TryGetValue(token, out var renamed))
                yield return ("renamed  ", token, $"the old name of {renamed}; accepted, write {renamed}");
            else if (RestrictionCompiler.RemovedNames.TryGetValue(token, out var removed))
                yield return ("removed  ", token, $"removed from Postfix; use {removed}");
        }
    }

    private static void CheckTls(LoadedConfig config, MasterService service, Parameters p, ConfigDiagnostics diags, List<string> notes)
    {
        var level = p.Get(service.IsPop3d ? "pop3d_tls_security_level" : "smtpd_tls_security_level");
        var wrapper = p.GetBool(service.IsPop3d ? "pop3d_tls_wrappermode" : "smtpd_tls_wrappermode") || service.Service is "pop3s" or "submissions" or "smtps";
        if (level is "" or "none" && !wrapper) return;
        var cert = p.Get("smtpd_tls_cert_file");
        var key = p.Get("smtpd_tls_key_file");
        var src = p.Source("smtpd_tls_cert_file");
        if (cert.Length == 0)
        {
            diags.Warning(service.File, service.Line, $"service {service.Endpoint}: no smtpd_tls_cert_file; a self-signed certificate is made under {Path.Combine(config.DataDirectory, "tls")} — clients will not trust it; set smtpd_tls_cert_file and smtpd_tls_key_file");
            return;
        }
        try
        {
            using var c = SelfSignedCertificate.Load(cert, key.Length > 0 ? key : cert);
            if (c.NotAfter < DateTime.Now) diags.Warning(src?.File ?? config.MainCfPath, src?.Line ?? 0, $"certificate {cert} expired on {c.NotAfter:yyyy-MM-dd}");
            if (c.Subject == c.Issuer) diags.Warning(src?.File ?? config.MainCfPath, src?.Line ?? 0, $"certificate {cert} is self-signed: clients will not trust it");
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            diags.Error(src?.File ?? config.MainCfPath, src?.Line ?? 0, $"cannot load smtpd_tls_cert_file {cert} / smtpd_tls_key_file {key}: {ex.Message}");
        }
    }

    private static void CheckDirectory(string dir, string name, ConfigDiagnostics diags, string file)
    {
        if (!Directory.Exists(dir)) { diags.Warning(file, 0, $"{name} {dir} does not exist yet; serve creates it"); return; }
        try
        {
            var probe = Path.Combine(dir, $".check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            diags.Error(file, 0, $"{name} {dir} is not writable: {ex.Message}");
        }
    }
}
