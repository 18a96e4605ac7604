using Omoikane.Mail.Authentication;
using Omoikane.Mail.Config;

namespace Omoikane.Cli;

/// <summary>
/// The file permission part of omoikane check, as postfix check does it: configuration files, lookup tables
/// and the data directories must not be writable by group or others (warning), and secrets (TLS private keys,
/// DKIM keys, the user store) must not be readable by others (error) or by the group (warning). One line per
/// problem, naming the path, what is wrong and the command that fixes it.
/// </summary>
public static class CheckPermissions
{
    private static readonly string[] TableTypes = ["texthash", "hash", "btree", "lmdb", "cdb", "dbm", "cidr", "regexp", "pcre"];

    public static void Check(LoadedConfig config, ConfigDiagnostics diags)
    {
        if (OperatingSystem.IsWindows()) return;
        foreach (var path in ConfigPaths(config).Distinct(StringComparer.Ordinal))
            NotWritableByOthers(path, diags);
        foreach (var (path, what) in Secrets(config).DistinctBy(s => s.Path, StringComparer.Ordinal))
            NotReadableByOthers(path, what, diags);
    }

    /// <summary>What an attacker could change to redirect mail or open relaying: configuration, tables, state directories.</summary>
    private static IEnumerable<string> ConfigPaths(LoadedConfig config)
    {
        if (config.ConfigDirectory is { } dir)
        {
            yield return dir;
            foreach (var f in new[] { "main.cf", "master.cf", "hosts.allow", "hosts.deny" }) yield return Path.Combine(dir, f);
        }
        var hostsDir = config.Main.Get("hosts_access_directory");
        if (hostsDir.Length > 0 && hostsDir != config.ConfigDirectory)
        {
            yield return hostsDir;
            yield return Path.Combine(hostsDir, "hosts.allow");
            yield return Path.Combine(hostsDir, "hosts.deny");
        }
        foreach (var table in TableFiles(config)) yield return table;
        yield return config.DataDirectory;
        yield return config.QueueDirectory;
        yield return config.MailboxBase;
    }

    /// <summary>The files of the lookup tables named anywhere in main.cf or master.cf (-o), "type:/path".</summary>
    private static IEnumerable<string> TableFiles(LoadedConfig config)
    {
        var values = config.Main.ExplicitEntries.Select(e => config.Main.ExpandText(e.Value))
            .Concat(config.Services.SelectMany(s => s.Overrides.Select(o => config.For(s).ExpandText(o.Value))));
        foreach (var value in values)
            foreach (var item in Parameters.SplitList(value))
            {
                var colon = item.IndexOf(':');
                if (colon <= 0 || !TableTypes.Contains(item[..colon], StringComparer.OrdinalIgnoreCase)) continue;
                var file = item[(colon + 1)..];
                if (file.Length == 0) continue;
                yield return Path.IsPathRooted(file) || config.ConfigDirectory is null ? file : Path.Combine(config.ConfigDirectory, file);
            }
    }

    private static IEnumerable<(string Path, string What)> Secrets(LoadedConfig config)
    {
        yield return (config.Main.Get("user_database"), "user database");
        foreach (var service in config.Services)
        {
            var p = config.For(service);
            var key = p.Get("smtpd_tls_key_file");
            var cert = p.Get("smtpd_tls_cert_file");
            if (key.Length > 0) yield return (key, "TLS private key");
            else if (cert.Length > 0) yield return (cert, "TLS private key (in smtpd_tls_cert_file)");
        }
        yield return (Path.Combine(config.DataDirectory, "tls", "selfsigned-key.pem"), "TLS private key");
        var problems = new List<string>();
        foreach (var k in AuthenticationOptions.FromParameters(config.Main, problems).SigningKeys)
            yield return (k.KeyPath, "DKIM private key");
    }

    private static UnixFileMode? ModeOf(string path)
    {
        try { return Path.Exists(path) ? File.GetUnixFileMode(path) : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0xfff, 8).PadLeft(4, '0');

    private static void NotWritableByOthers(string path, ConfigDiagnostics diags)
    {
        if (ModeOf(path) is not { } mode) return;
        var group = mode.HasFlag(UnixFileMode.GroupWrite);
        var other = mode.HasFlag(UnixFileMode.OtherWrite);
        if (!group && !other) return;
        var who = group && other ? "group and others" : group ? "group" : "others";
        var kind = Directory.Exists(path) ? "directory" : "file";
        diags.Warning(path, 0, $"{kind} writable by {who} (mode {Octal(mode)}): whoever can write it can change how mail is handled; run chmod go-w {path}");
    }

    private static void NotReadableByOthers(string path, string what, ConfigDiagnostics diags)
    {
        if (ModeOf(path) is not { } mode || Directory.Exists(path)) return;
        if (mode.HasFlag(UnixFileMode.OtherRead))
            diags.Error(path, 0, $"{what} readable by others (mode {Octal(mode)}): any local user can read it; run chmod 600 {path}");
        else if (mode.HasFlag(UnixFileMode.GroupRead) || mode.HasFlag(UnixFileMode.GroupWrite))
            diags.Warning(path, 0, $"{what} readable by its group (mode {Octal(mode)}): only the server should read it; run chmod 600 {path}");
    }
}
