using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Server.Transport;

/// <summary>The outcome of a hosts_access check, with the rule that decided (null: no rule matched, access granted).</summary>
public readonly record struct HostsAccessDecision(bool Granted, HostsAccessRule? Rule)
{
    public override string ToString() => Rule is null ? (Granted ? "granted (no rule matched)" : "refused")
        : $"{(Granted ? "granted" : "refused")} by {Rule.File}:{Rule.Line}";
}

/// <summary>
/// hosts.allow and hosts.deny of one directory, evaluated as hosts_access(5) says: the first matching rule
/// of hosts.allow grants, else the first matching rule of hosts.deny refuses, else access is granted. A rule
/// with an explicit "allow" or "deny" option (hosts_options(5)) decides that way in either file.
/// The files are re-read when their modification time (or existence) changes, checked at most once per
/// <see cref="CheckInterval"/>, so editing them takes effect without a restart.
/// </summary>
public sealed class HostsAccess
{
    private readonly string? _directory;
    private readonly Action<ConfigDiagnostic> _report;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private volatile Snapshot _current;
    private IReadOnlyList<ConfigDiagnostic> _lastReported = [];
    private long _nextCheck;

    public static TimeSpan CheckInterval { get; } = TimeSpan.FromSeconds(1);

    private sealed record Snapshot(HostsAccessFile Allow, HostsAccessFile Deny, ConfigDiagnostics Diagnostics);

    /// <summary>directory null or empty: no files, every client is granted.</summary>
    public HostsAccess(string? directory, Action<ConfigDiagnostic>? report = null, TimeProvider? time = null)
    {
        _directory = string.IsNullOrEmpty(directory) ? null : directory;
        _report = report ?? (_ => { });
        _time = time ?? TimeProvider.System;
        _current = Read();
        _nextCheck = _time.GetTimestamp() + (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency);
    }

    public string? AllowPath => _directory is null ? null : Path.Combine(_directory, "hosts.allow");
    public string? DenyPath => _directory is null ? null : Path.Combine(_directory, "hosts.deny");
    public bool HasRules => _current.Allow.Rules.Count + _current.Deny.Rules.Count > 0;
    /// <summary>What was found wrong in the files when they were last read.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics => _current.Diagnostics.Items;

    /// <summary>Reads both files without reporting (omoikane check).</summary>
    public static IReadOnlyList<ConfigDiagnostic> Validate(string directory)
    {
        var diags = new ConfigDiagnostics();
        HostsAccessFile.Load(Path.Combine(directory, "hosts.allow"), diags);
        HostsAccessFile.Load(Path.Combine(directory, "hosts.deny"), diags);
        return diags.Items;
    }

    private Snapshot Read()
    {
        var diags = new ConfigDiagnostics();
        if (_directory is null) return new(HostsAccessFile.Empty, HostsAccessFile.Empty, diags);
        var snapshot = new Snapshot(HostsAccessFile.Load(AllowPath!, diags), HostsAccessFile.Load(DenyPath!, diags), diags);
        // An unreadable file is read again at every check; its error is logged when it first appears, not each time.
        if (!_lastReported.SequenceEqual(diags.Items))
            foreach (var d in diags.Items) _report(d);
        _lastReported = diags.Items;
        return snapshot;
    }

    /// <summary>Re-reads the files if they changed since they were read (cheap: two stat calls, rate-limited).</summary>
    public void RefreshIfChanged(bool force = false)
    {
        if (_directory is null) return;
        var now = _time.GetTimestamp();
        if (!force && now < Interlocked.Read(ref _nextCheck)) return;
        lock (_gate)
        {
            if (!force && now < _nextCheck) return;
            _nextCheck = now + (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency);
            var cur = _current;
            if (force || Changed(AllowPath!, cur.Allow) || Changed(DenyPath!, cur.Deny))
                _current = Read();
        }
    }

    private static bool Changed(string path, HostsAccessFile file)
    {
        // An unreadable file is read again at every check: fixing its permissions does not change its mtime.
        if (file.IsUnreadable) return true;
        var exists = Path.Exists(path);
        if (!exists) return file.LastWriteUtc is not null;
        return file.LastWriteUtc != File.GetLastWriteTimeUtc(path);
    }

    /// <summary>
    /// Decides for one client of a daemon. The client's name is looked up (resolveName) only when a rule
    /// that could decide needs it, so address-only files cost no DNS query.
    /// </summary>
    public async ValueTask<HostsAccessDecision> CheckAsync(IReadOnlyCollection<string> daemonNames, IPAddress address,
        Func<CancellationToken, ValueTask<HostsAccessName>> resolveName, CancellationToken ct = default)
    {
        RefreshIfChanged();
        var snapshot = _current;
        address = IpNetwork.Normalize(address);
        HostsAccessName? name = null;
        async ValueTask<bool> MatchAsync(HostsAccessRule rule)
        {
            if (!rule.MatchesDaemon(daemonNames)) return false;
            if (rule.NeedsName && name is null) name = await resolveName(ct).ConfigureAwait(false);
            return rule.MatchesClient(address, name ?? HostsAccessName.None);
        }
        foreach (var rule in snapshot.Allow.Rules)
            if (await MatchAsync(rule).ConfigureAwait(false))
                return new(rule.Option != HostsAccessOption.Deny, rule);
        foreach (var rule in snapshot.Deny.Rules)
            if (await MatchAsync(rule).ConfigureAwait(false))
                return new(rule.Option == HostsAccessOption.Allow, rule);
        return new(true, null);
    }
}
