namespace Omoikane.Mail.Config;

/// <summary>A loaded configuration: main.cf parameters, services, and everything found wrong with them.</summary>
public sealed class LoadedConfig
{
    public required string? ConfigDirectory { get; init; }
    public required Parameters Main { get; init; }
    public required IReadOnlyList<MasterService> Services { get; init; }
    public required ConfigDiagnostics Diagnostics { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }
    /// <summary>True when no --config was given: the embedded default (loopback, unprivileged ports).</summary>
    public required bool Embedded { get; init; }
    public string MainCfPath => ConfigDirectory is null ? "(embedded default)" : Path.Combine(ConfigDirectory, "main.cf");

    public string DataDirectory => Main.Get("data_directory");
    public string QueueDirectory => Main.Get("queue_directory");
    public string MailboxBase => Main.Get("virtual_mailbox_base");

    /// <summary>The effective parameters of a service: main.cf with the service's -o overrides.</summary>
    public Parameters For(MasterService service)
    {
        var p = service.Overrides.Count == 0 ? Main : Main.WithOverrides(service.Overrides);
        // The well-known names of the implicit-TLS ports imply the TLS wrapper (CONTRACT.md, master.cf),
        // unless the service's own -o says otherwise.
        var name = service.Service.Contains(':') ? service.Service[(service.Service.LastIndexOf(':') + 1)..] : service.Service;
        if (service.IsSmtpd && name.ToLowerInvariant() is "submissions" or "smtps"
            && !service.Overrides.Any(o => o.Name == "smtpd_tls_wrappermode"))
            p = p.With("smtpd_tls_wrappermode", "yes");
        if (service.IsPop3d && name.Equals("pop3s", StringComparison.OrdinalIgnoreCase)
            && !service.Overrides.Any(o => o.Name == "pop3d_tls_wrappermode"))
            p = p.With("pop3d_tls_wrappermode", "yes");
        return p;
    }
}

/// <summary>Loads --config DIR (main.cf, master.cf) or the embedded default (CONTRACT.md "Build and run").</summary>
public static class ConfigLoader
{
    /// <summary>Embedded master.cf: loopback, unprivileged ports, the services of Postfix's sample master.cf.</summary>
    public const string EmbeddedMasterCf = """
        127.0.0.1:2525  inet n - n - - smtpd
        127.0.0.1:5870  inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submission
          -o smtpd_tls_security_level=encrypt
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_tls_auth_only=yes
          -o smtpd_client_restrictions=permit_sasl_authenticated,reject
        127.0.0.1:4650  inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submissions
          -o smtpd_tls_wrappermode=yes
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_client_restrictions=permit_sasl_authenticated,reject
        127.0.0.1:1100  inet n - n - - pop3d
        127.0.0.1:9950  inet n - n - - pop3d
          -o pop3d_tls_wrappermode=yes
        """;

    /// <summary>The default service lines when a config directory has no master.cf: same ports, on inet_interfaces.</summary>
    public const string DefaultPortsMasterCf = """
        2525  inet n - n - - smtpd
        5870  inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submission
          -o smtpd_tls_security_level=encrypt
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_tls_auth_only=yes
          -o smtpd_client_restrictions=permit_sasl_authenticated,reject
        4650  inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submissions
          -o smtpd_tls_wrappermode=yes
          -o smtpd_sasl_auth_enable=yes
          -o smtpd_client_restrictions=permit_sasl_authenticated,reject
        1100  inet n - n - - pop3d
        9950  inet n - n - - pop3d
          -o pop3d_tls_wrappermode=yes
        """;

    public static LoadedConfig Load(string? configDirectory, string? workingDirectory = null)
    {
        workingDirectory ??= Directory.GetCurrentDirectory();
        var diags = new ConfigDiagnostics();
        var notes = new List<string>();
        var entries = new List<ConfigEntry>();
        string? dir = configDirectory is null ? null : Path.GetFullPath(configDirectory, workingDirectory);
        var dynamicDefaults = new Dictionary<string, string>(StringComparer.Ordinal);

        string masterText; string masterFile;
        if (dir is null)
        {
            entries.Add(new ConfigEntry("myhostname", "localhost", "(embedded)", 0));
            entries.Add(new ConfigEntry("mydestination", "localhost", "(embedded)", 0));
            entries.Add(new ConfigEntry("inet_interfaces", "loopback-only", "(embedded)", 0));
            entries.Add(new ConfigEntry("smtpd_tls_security_level", "may", "(embedded)", 0));
            masterText = EmbeddedMasterCf; masterFile = "(embedded master.cf)";
        }
        else
        {
            if (!Directory.Exists(dir))
                diags.Error(dir, 0, "configuration directory does not exist");
            var mainPath = Path.Combine(dir, "main.cf");
            // Something that is not a file where main.cf or master.cf belongs is an error, not "no file, use the defaults".
            foreach (var name in new[] { "main.cf", "master.cf" })
                if (Directory.Exists(Path.Combine(dir, name)))
                    diags.Error(Path.Combine(dir, name), 0, "cannot read: is a directory, not a file");
            if (File.Exists(mainPath))
            {
                try { entries.AddRange(MainCf.Parse(File.ReadAllText(mainPath), mainPath, diags)); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                { diags.Error(mainPath, 0, $"cannot read: {ex.Message}"); }
            }
            var host = SystemHostName();
            dynamicDefaults["myhostname"] = host;
            var dot = host.IndexOf('.');
            dynamicDefaults["mydomain"] = dot > 0 && dot < host.Length - 1 ? host[(dot + 1)..] : "localdomain";
            dynamicDefaults["config_directory"] = dir;
            var masterPath = Path.Combine(dir, "master.cf");
            if (File.Exists(masterPath))
            {
                try { masterText = File.ReadAllText(masterPath); masterFile = masterPath; }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                { diags.Error(masterPath, 0, $"cannot read: {ex.Message}"); masterText = ""; masterFile = masterPath; }
            }
            else { masterText = DefaultPortsMasterCf; masterFile = "(default master.cf)"; }
        }

        // Relative paths (data_directory = omoikane-data) are relative to the working directory.
        var raw = new Parameters(entries, dynamicDefaults);
        var dataDir = Path.GetFullPath(raw.Get("data_directory"), workingDirectory);
        dynamicDefaults["data_directory"] = dataDir;
        if (raw.IsExplicit("data_directory"))
        {
            var src = raw.Source("data_directory")!;
            entries = entries.Where(e => e.Name != "data_directory").ToList();
            entries.Add(src with { Value = dataDir });
        }
        var main = new Parameters(entries, dynamicDefaults);

        var services = MasterCf.Parse(masterText, masterFile, diags, notes);
        ValidateParameters(main, services, diags);
        return new LoadedConfig
        {
            ConfigDirectory = dir, Main = main, Services = services, Diagnostics = diags,
            Notes = notes, Embedded = dir is null,
        };
    }

    public static string SystemHostName()
    {
        try
        {
            var h = System.Net.Dns.GetHostName();
            return string.IsNullOrEmpty(h) ? "localhost" : h.ToLowerInvariant();
        }
        catch { return "localhost"; }
    }

    /// <summary>Type-checks every explicit value and warns about names nobody uses.</summary>
    private static void ValidateParameters(Parameters main, IReadOnlyList<MasterService> services, ConfigDiagnostics diags)
    {
        // Names referenced as $name anywhere are user-defined parameters, not typos.
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in main.ExplicitEntries.Concat(services.SelectMany(s => s.Overrides)))
            foreach (var r in References(e.Value)) referenced.Add(r);

        foreach (var e in main.ExplicitEntries)
        {
            if (e.Line == 0) continue; // embedded
            if (!ParameterTable.IsKnown(e.Name))
            {
                if (ParameterTable.IgnoredPostfixNames.Contains(e.Name))
                    continue;
                if (!referenced.Contains(e.Name))
                    diags.Warning(e.File, e.Line, $"unknown parameter \"{e.Name}\" ignored (not a parameter Omoikane knows, and not referenced as ${e.Name})");
                continue;
            }
            CheckValue(main, e, diags);
        }
        foreach (var s in services)
        {
            var p = main.WithOverrides(s.Overrides);
            foreach (var o in s.Overrides)
            {
                if (!ParameterTable.IsKnown(o.Name))
                {
                    if (!ParameterTable.IgnoredPostfixNames.Contains(o.Name))
                        diags.Warning(o.File, o.Line, $"unknown parameter \"{o.Name}\" in -o override ignored");
                    continue;
                }
                CheckValue(p, o, diags);
            }
        }
    }

    private static void CheckValue(Parameters p, ConfigEntry e, ConfigDiagnostics diags)
    {
        if (!ParameterTable.TryGet(e.Name, out var def)) return;
        var v = p.Get(e.Name);
        switch (def.Kind)
        {
            case ParameterKind.Bool when !Parameters.TryParseBool(v, out _):
                diags.Error(e.File, e.Line, $"{e.Name} = {v}: expected yes or no");
                break;
            case ParameterKind.Int or ParameterKind.Size:
                if (!long.TryParse(v, out var n))
                    diags.Error(e.File, e.Line, $"{e.Name} = {v}: expected a number");
                else if (n < def.Min || n > def.Max)
                    diags.Error(e.File, e.Line, $"{e.Name} = {v}: out of range ({def.Min}..{(def.Max == long.MaxValue ? "" : def.Max)})");
                break;
            case ParameterKind.Time:
                if (!Parameters.TryParseTime(v, def.TimeUnit, out var t))
                    diags.Error(e.File, e.Line, $"{e.Name} = {v}: expected a time such as 300s, 10m, 1h, 5d");
                else if (t.TotalSeconds < def.Min)
                    diags.Error(e.File, e.Line, $"{e.Name} = {v}: must be at least {def.Min}s");
                break;
        }
        if (e.Name is "smtpd_tls_security_level" or "smtp_tls_security_level" or "pop3d_tls_security_level"
            && v is not ("" or "none" or "may" or "encrypt" or "dane" or "verify" or "secure"))
            diags.Error(e.File, e.Line, $"{e.Name} = {v}: expected none, may or encrypt");
        if (e.Name is "smtpd_forbid_bare_newline" && !Smtp.BareNewlineModes.TryParse(v, out _))
            diags.Error(e.File, e.Line, $"{e.Name} = {v}: expected normalize, yes (= normalize), reject or no");
    }

    public static IEnumerable<string> References(string value)
    {
        for (int i = 0; i < value.Length - 1; i++)
        {
            if (value[i] != '$') continue;
            int j = i + 1;
            if (value[j] == '{' || value[j] == '(') j++;
            int start = j;
            while (j < value.Length && (char.IsAsciiLetterOrDigit(value[j]) || value[j] == '_')) j++;
            if (j > start) yield return value[start..j];
        }
    }
}
