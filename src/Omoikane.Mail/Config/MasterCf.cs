using System.Net;

namespace Omoikane.Mail.Config;

/// <summary>One master.cf service line (master(5)): where it listens, its command, maxproc and "-o" overrides.</summary>
public sealed record MasterService(
    string Service, string Type, string? Host, int Port, int MaxProc, string Command,
    IReadOnlyList<ConfigEntry> Overrides, string File, int Line)
{
    /// <summary>"127.0.0.1:2525" or "2525" — as it appears in logs.</summary>
    public string Endpoint => Host is null ? Port.ToString() : Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
    public bool IsSmtpd => Command == "smtpd";
    public bool IsPop3d => Command == "pop3d";
}

/// <summary>
/// Parser for master.cf: "service type private unpriv chroot wakeup maxproc command [args]".
/// Lines starting with white space continue the previous entry; '#' lines are comments.
/// Only inet services running smtpd or pop3d are served; Postfix's internal services are accepted
/// and ignored with a note.
/// </summary>
public static class MasterCf
{
    public const int DefaultProcessLimit = 100;

    public static readonly IReadOnlyDictionary<string, int> WellKnownPorts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["smtp"] = 25, ["submission"] = 587, ["submissions"] = 465, ["smtps"] = 465, ["urd"] = 465,
        ["pop3"] = 110, ["pop3s"] = 995,
    };

    private static readonly HashSet<string> PostfixInternal = new(StringComparer.Ordinal)
    {
        "pickup", "cleanup", "qmgr", "oqmgr", "tlsmgr", "rewrite", "trivial-rewrite", "bounce", "defer", "trace",
        "verify", "flush", "proxymap", "proxywrite", "smtp", "relay", "showq", "error", "retry", "discard",
        "local", "virtual", "lmtp", "anvil", "scache", "postlog", "dnsblog", "tlsproxy", "postscreen", "pipe", "spawn",
    };

    public static IReadOnlyList<MasterService> Parse(string text, string file, ConfigDiagnostics diagnostics, List<string>? notes = null)
    {
        var services = new List<MasterService>();
        var logical = new List<(string Text, int Line)>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var t = line.TrimStart();
            if (t.Length == 0 || t[0] == '#') continue;
            if (char.IsWhiteSpace(line[0]) && logical.Count > 0)
                logical[^1] = (logical[^1].Text + " " + t, logical[^1].Line);
            else
                logical.Add((line.Trim(), i + 1));
        }
        foreach (var (entry, lineNo) in logical)
        {
            var f = Tokenize(entry);
            if (f.Count < 8)
            {
                diagnostics.Error(file, lineNo, $"expected 8 fields \"service type private unpriv chroot wakeup maxproc command\", found {f.Count}");
                continue;
            }
            var (service, type, maxprocText, command) = (f[0], f[1], f[6], f[7]);
            var overrides = new List<ConfigEntry>();
            bool bad = false;
            for (int k = 8; k < f.Count; k++)
            {
                if (f[k] == "-o" && k + 1 < f.Count)
                {
                    var kv = f[++k];
                    if (kv.StartsWith('{') && kv.EndsWith('}')) kv = kv[1..^1].Trim();
                    var eq = kv.IndexOf('=');
                    if (eq <= 0)
                    {
                        diagnostics.Error(file, lineNo, $"\"-o {kv}\": expected -o name=value");
                        bad = true; continue;
                    }
                    overrides.Add(new ConfigEntry(kv[..eq].Trim(), kv[(eq + 1)..].Trim(), file, lineNo));
                }
                else if (f[k].StartsWith("-o") && f[k].Length > 2 && f[k].Contains('='))
                {
                    var kv = f[k][2..];
                    var eq = kv.IndexOf('=');
                    overrides.Add(new ConfigEntry(kv[..eq].Trim(), kv[(eq + 1)..].Trim(), file, lineNo));
                }
                // other daemon flags (-v, -D, ...) are accepted and ignored
            }
            if (bad) continue;
            if (type != "inet")
            {
                if (type is "unix" or "unix-dgram" or "fifo" or "pass")
                {
                    notes?.Add($"{file}:{lineNo}: note: service \"{service}\" ({type} {command}) is internal to Postfix; Omoikane does this work in-process and ignores the line");
                    continue;
                }
                diagnostics.Error(file, lineNo, $"unknown service type \"{type}\"; expected inet, unix, unix-dgram, fifo or pass");
                continue;
            }
            if (command != "smtpd" && command != "pop3d")
            {
                if (PostfixInternal.Contains(command))
                    notes?.Add($"{file}:{lineNo}: note: inet service \"{service}\" runs Postfix's {command}, which Omoikane does not provide; line ignored");
                else
                    diagnostics.Error(file, lineNo, $"unknown command \"{command}\"; Omoikane serves smtpd and pop3d");
                continue;
            }
            int maxproc;
            if (maxprocText == "-") maxproc = DefaultProcessLimit;
            else if (!int.TryParse(maxprocText, out maxproc) || maxproc < 0)
            {
                diagnostics.Error(file, lineNo, $"maxproc \"{maxprocText}\" is not a number or '-'");
                continue;
            }
            if (!TryParseEndpoint(service, out var host, out var port))
            {
                diagnostics.Error(file, lineNo, $"service \"{service}\": expected [address:]port or a well-known name (smtp, submission, submissions, smtps, pop3, pop3s)");
                continue;
            }
            if (maxproc == 0) maxproc = int.MaxValue;
            services.Add(new MasterService(service, type, host, port, maxproc, command, overrides, file, lineNo));
        }
        return services;
    }

    /// <summary>Fields split on white space, keeping "{ ... }" groups (Postfix 3.0 "-o { name = value }") together.</summary>
    private static List<string> Tokenize(string s)
    {
        var result = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) break;
            int start = i;
            if (s[i] == '{')
            {
                int depth = 0;
                for (; i < s.Length; i++)
                {
                    if (s[i] == '{') depth++;
                    else if (s[i] == '}' && --depth == 0) { i++; break; }
                }
            }
            else
            {
                while (i < s.Length && !char.IsWhiteSpace(s[i])) i++;
            }
            result.Add(s[start..i]);
        }
        return result;
    }

    /// <summary>"[addr]:port", "addr:port", "port" or a well-known name.</summary>
    public static bool TryParseEndpoint(string service, out string? host, out int port)
    {
        host = null; port = 0;
        string portPart = service;
        if (service.StartsWith('['))
        {
            var close = service.IndexOf(']');
            if (close < 0 || close + 1 >= service.Length || service[close + 1] != ':') return false;
            host = service[1..close];
            portPart = service[(close + 2)..];
        }
        else
        {
            var colon = service.LastIndexOf(':');
            if (colon >= 0)
            {
                host = service[..colon];
                portPart = service[(colon + 1)..];
                if (host.Contains(':')) return false; // bare IPv6 must be bracketed
            }
        }
        if (host is not null && host.Length == 0) return false;
        if (int.TryParse(portPart, out port)) return port is >= 0 and <= 65535;
        return WellKnownPorts.TryGetValue(portPart, out port);
    }
}
