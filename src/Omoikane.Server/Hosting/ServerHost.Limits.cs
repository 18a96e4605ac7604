using Omoikane.Mail.Config;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Server.Pop3;
using Omoikane.Server.Smtp;
using Omoikane.Server.Transport;

namespace Omoikane.Server.Hosting;

public sealed partial class ServerHost
{
    /// <summary>Open connections per client, one table per master.cf service (Postfix anvil counts per service); kept across reloads.</summary>
    private readonly Dictionary<string, ClientConnectionCounter> _connectionCounters = new(StringComparer.Ordinal);

    /// <summary>
    /// The per-client connection limit of a service, checked by its listener at accept time:
    /// smtpd_client_connection_count_limit or pop3d_client_connection_count_limit, with
    /// smtpd_client_event_limit_exceptions exempt.
    /// </summary>
    private ConnectionLimit CreateConnectionLimit(MasterService service, Parameters p, TableFactory tables, ConfigDiagnostics? errors, List<string> warnings)
    {
        ClientConnectionCounter counter;
        lock (_connectionCounters)
        {
            if (!_connectionCounters.TryGetValue(ServiceKey(service), out counter!))
                _connectionCounters[ServiceKey(service)] = counter = new ClientConnectionCounter(_ipv6PrefixLength);
        }
        var diags = new ConfigDiagnostics();
        var source = p.Source("smtpd_client_event_limit_exceptions");
        var exceptions = new NetworkList(p.GetList("smtpd_client_event_limit_exceptions"), tables, diags,
            "smtpd_client_event_limit_exceptions", source?.File ?? Config.MainCfPath, source?.Line ?? 0).Networks;
        foreach (var d in diags.Items)
        {
            if (errors is not null && d.Severity == DiagnosticSeverity.Error) errors.Error(d.File, d.Line, d.Message);
            else warnings.Add(d.ToString());
        }
        if (service.IsPop3d)
        {
            var wrapper = Pop3Options.From(p).WrapperMode;
            return new ConnectionLimit(counter, p.GetInt("pop3d_client_connection_count_limit"), exceptions,
                wrapper ? null : "-ERR [SYS/TEMP] Too many connections from {ip}", Log, p.Get("syslog_name"), "pop3d", AnvilServiceName(service));
        }
        var smtpd = SmtpdOptions.From(p);
        return new ConnectionLimit(counter, smtpd.ConnectionCountLimit, exceptions,
            smtpd.WrapperMode ? null : $"421 4.7.0 {smtpd.MyHostname} Error: too many connections from {{ip}}",
            Log, smtpd.SyslogName, "smtpd", AnvilServiceName(service));
    }

    /// <summary>
    /// The service as the limit warnings name it ("for service smtp"): the master.cf service field without a
    /// host part, a well-known port number by its name (25 smtp, 587 submission, 465 submissions, 110 pop3, 995 pop3s).
    /// </summary>
    private static string AnvilServiceName(MasterService service)
    {
        var name = service.Service;
        var colon = name.LastIndexOf(':');
        if (colon >= 0) name = name[(colon + 1)..];
        if (!name.All(char.IsAsciiDigit)) return name;
        return service.Port switch { 25 => "smtp", 587 => "submission", 465 => "submissions", 110 => "pop3", 995 => "pop3s", _ => name };
    }

    /// <summary>What a start refuses for (fail closed): alias maps, tables and keys that cannot be read.</summary>
    private readonly ConfigDiagnostics _startErrors = new();

    /// <summary>maillog_file must be writable: a server that cannot log (fail2ban, audit) does not start.</summary>
    private static void EnsureWritableLog(string path)
    {
        if (string.IsNullOrEmpty(path)) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            using var probe = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot open maillog_file {path}: {ex.Message}", ex);
        }
    }
}
