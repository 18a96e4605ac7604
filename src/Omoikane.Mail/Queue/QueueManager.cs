using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Omoikane.Mail.Delivery;
using Omoikane.Mail.Delivery.Maildir;
using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Queue;

/// <summary>
/// Schedules deliveries of queued messages (Postfix qmgr(8)): new messages go straight to delivery;
/// a message with recipients left over is deferred with exponential backoff between
/// minimal_backoff_time and maximal_backoff_time, its state kept on disk; after maximal_queue_lifetime
/// the remaining recipients are bounced with a DSN to the sender (never for the null sender).
/// On start everything in the queue is resumed.
/// </summary>
public sealed partial class QueueManager : IAsyncDisposable
{
    private readonly Spool _spool;
    private readonly MaildirWriter _maildir;
    private readonly LocalRecipients _local;
    private readonly IRemoteTransport _remote;
    private readonly MailLog _log;
    private readonly QueueManagerOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<string> _ready = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _deferred = new();
    private readonly ConcurrentDictionary<string, byte> _inFlight = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = new();
    private readonly SemaphoreSlim _wakeScheduler = new(0);
    private readonly ConcurrentDictionary<string, byte> _recovered = new();

    public QueueManager(Spool spool, MaildirWriter maildir, LocalRecipients local, IRemoteTransport remote, MailLog log,
        QueueManagerOptions options, TimeProvider? time = null)
    {
        _spool = spool; _maildir = maildir; _local = local; _remote = remote; _log = log; _options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Number of messages waiting for a retry.</summary>
    public int DeferredCount => _deferred.Count;

    public void Start()
    {
        // Resume: every committed message is either new (no state) or deferred (state with next attempt).
        foreach (var id in _spool.ListIds())
        {
            _recovered[id] = 0;
            var state = QueueState.Load(_spool.StatePath(id));
            if (state is null) Enqueue(id);
            else if (!state.Hold) _deferred[id] = state.NextAttempt;
        }
        for (int i = 0; i < _options.Workers; i++) _tasks.Add(Task.Run(WorkerAsync));
        _tasks.Add(Task.Run(SchedulerAsync));
    }

    private readonly ConcurrentDictionary<string, QueueMessageFile> _fresh = new();

    /// <summary>Hands a message just accepted (no state file yet, content possibly in memory) to delivery.</summary>
    public void EnqueueNew(QueueMessageFile message)
    {
        _fresh[message.Id] = message;
        Enqueue(message.Id);
    }

    /// <summary>Hands a committed message to delivery.</summary>
    public void Enqueue(string id)
    {
        if (_inFlight.TryAdd(id, 0)) _ready.Writer.TryWrite(id);
    }

    /// <summary>Retries every deferred message now (postqueue -f).</summary>
    public void FlushDeferred()
    {
        foreach (var id in _deferred.Keys) _deferred[id] = DateTimeOffset.MinValue;
        Volatile.Write(ref _scanDeferredNow, 1);
        _wakeScheduler.Release();
    }

    private int _scanDeferredNow;

    /// <summary>
    /// Scans the deferred messages every queue_run_delay (qmgr(8)): a message whose backoff has ended is
    /// retried at the next scan, the first one at start; a flush (postqueue -f) scans at once.
    /// </summary>
    private async Task SchedulerAsync()
    {
        var ct = _stop.Token;
        var nextScan = DateTimeOffset.MinValue;
        while (!ct.IsCancellationRequested)
        {
            try { await _wakeScheduler.WaitAsync(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            var now = _time.GetUtcNow();
            if (Interlocked.Exchange(ref _scanDeferredNow, 0) == 1 || now >= nextScan)
            {
                nextScan = now + _options.QueueRunDelay;
                foreach (var (id, when) in _deferred)
                {
                    if (when <= now && _deferred.TryRemove(id, out _)) Enqueue(id);
                }
            }
            // Messages placed in the queue by another process (queue flush from the CLI writes a request file).
            var flushRequest = Path.Combine(_spool.Root, "flush");
            if (File.Exists(flushRequest))
            {
                try { File.Delete(flushRequest); } catch (IOException) { }
                foreach (var id in _spool.ListIds())
                {
                    if (_inFlight.ContainsKey(id)) continue;
                    var st = QueueState.Load(_spool.StatePath(id));
                    if (st is { Hold: true }) continue;
                    _deferred.TryRemove(id, out _);
                    Enqueue(id);
                }
            }
        }
    }

    private async Task WorkerAsync()
    {
        var ct = _stop.Token;
        try
        {
            await foreach (var id in _ready.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try { await ProcessAsync(id, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
                catch (Exception ex)
                {
                    _log.Warning("qmgr", $"{id}: delivery attempt failed: {ex.Message}");
                    Defer(id, null);
                }
                finally { _inFlight.TryRemove(id, out _); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private void Defer(string id, QueueState? state)
    {
        var now = _time.GetUtcNow();
        state ??= QueueState.Load(_spool.StatePath(id)) ?? new QueueState();
        state.Attempts++;
        state.LastAttempt = now;
        state.NextAttempt = now + Backoff(state.Attempts);
        try { state.Save(_spool.StatePath(id)); } catch (IOException ex) { _log.Warning("qmgr", $"{id}: cannot save queue state: {ex.Message}"); }
        _deferred[id] = state.NextAttempt;
    }

    /// <summary>Backoff doubles from minimal_backoff_time per attempt, capped at maximal_backoff_time.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var min = _options.MinimalBackoff;
        var ticks = min.Ticks * Math.Pow(2, Math.Min(attempts - 1, 30));
        var t = TimeSpan.FromTicks((long)Math.Min(ticks, _options.MaximalBackoff.Ticks));
        return t < min ? min : t;
    }

    private async Task ProcessAsync(string id, CancellationToken ct)
    {
        var started = _time.GetUtcNow();
        // A message fresh from smtpd comes with its envelope (and small content) in memory and has no state file.
        var fresh = _fresh.TryRemove(id, out var freshMessage);
        string? error = null;
        var msg = freshMessage ?? _spool.Open(id, out error);
        // The delivery agents' lines (local, smtp, bounce) of this attempt carry a number of their own.
        using var agent = _log.BeginSession();
        try { await ProcessOpenAsync(id, msg, fresh, error, started, agent, ct).ConfigureAwait(false); }
        finally { if (freshMessage is not null) SpoolWriter.Release(freshMessage); }
    }

    private async Task ProcessOpenAsync(string id, QueueMessageFile? msg, bool fresh, string? error, DateTimeOffset started, LogSession agent, CancellationToken ct)
    {
        if (msg is null)
        {
            if (error == "not found") return; // deleted meanwhile (queue delete)
            _spool.Quarantine(id, error ?? "unreadable", _log);
            return;
        }
        var env = msg.Envelope;
        var state = fresh ? null : QueueState.Load(_spool.StatePath(id));
        var hadState = state is not null;
        if (state is { Hold: true }) return;
        if (state is null)
            _log.Info("qmgr", $"{id}: from=<{env.Sender}>, size={msg.ContentLength}, nrcpt={env.Recipients.Count} (queue active)");
        var pending = env.Recipients.Where(r => state is null || !state.Done.Contains(r.Address)).ToList();
        var recovered = _recovered.TryRemove(id, out _);

        var outcomes = new List<RecipientOutcome>();
        var remote = new List<QueueRecipient>();
        foreach (var rcpt in pending)
        {
            var targets = await _local.ResolveAsync(rcpt.Address, ct).ConfigureAwait(false);
            var anyTemp = false; var anySent = false; var anyBounced = false; var failures = new List<string>();
            foreach (var t in targets)
            {
                switch (t)
                {
                    case ResolvedTarget.Remote r:
                        remote.Add(new QueueRecipient(r.Address, rcpt.Original ?? rcpt.Address));
                        break;
                    case ResolvedTarget.Mailbox m:
                        var sw = _time.GetTimestamp();
                        var mailbox = _maildir.MailboxPath(m.Domain, m.Local);
                        var prefix = $"Return-Path: <{env.Sender}>\nDelivered-To: {m.Address}\n";
                        var key = $"{id}R{IndexOf(env, rcpt)}";
                        if (MaildirTooBig(prefix, msg) is { } tooBig)
                        {
                            LogDelivery(agent, msg, new QueueRecipient(m.Address, rcpt.Original), "local", "5.2.2", "bounced", tooBig, started, TimeSpan.Zero);
                            outcomes.Add(new RecipientOutcome(rcpt, DeliveryStatus.Bounced, "5.2.2", "local", tooBig));
                            anyBounced = true;
                            break;
                        }
                        try
                        {
                            if (recovered && MaildirWriter.FindDelivered(mailbox, key) is not null)
                            {
                                // Delivered before a crash that came before the queue file was removed.
                                LogDelivery(agent, msg, new QueueRecipient(m.Address, rcpt.Original ?? (m.Address != rcpt.Address ? rcpt.Address : null)),
                                    "local", "2.0.0", "sent", "delivered to maildir before restart", started, TimeSpan.Zero);
                                anySent = true;
                                break;
                            }
                            await _maildir.DeliverAsync(mailbox, prefix, msg, key, ct).ConfigureAwait(false);
                            LogDelivery(agent, msg, new QueueRecipient(m.Address, rcpt.Original ?? (m.Address != rcpt.Address ? rcpt.Address : null)),
                                "local", "2.0.0", "sent", "delivered to maildir", started, _time.GetElapsedTime(sw));
                            anySent = true;
                        }
                        catch (IOException ex)
                        {
                            anyTemp = true;
                            LogDelivery(agent, msg, new QueueRecipient(m.Address, rcpt.Original), "local", "4.2.0", "deferred", $"maildir delivery failed: {ex.Message}", started, _time.GetElapsedTime(sw));
                        }
                        catch (UnauthorizedAccessException ex)
                        {
                            anyTemp = true;
                            LogDelivery(agent, msg, new QueueRecipient(m.Address, rcpt.Original), "local", "4.2.0", "deferred", $"maildir delivery failed: {ex.Message}", started, _time.GetElapsedTime(sw));
                        }
                        break;
                    case ResolvedTarget.Command or ResolvedTarget.File:
                        var lr = await DeliverToCommandOrFileAsync(agent, msg, t, rcpt, $"{id}R{IndexOf(env, rcpt)}", started, ct).ConfigureAwait(false);
                        if (lr.Status == DeliveryStatus.Sent) anySent = true;
                        else if (lr.Status == DeliveryStatus.Deferred) anyTemp = true;
                        else { outcomes.Add(new RecipientOutcome(rcpt, DeliveryStatus.Bounced, lr.Dsn, "local", lr.Text)); anyBounced = true; }
                        break;
                    case ResolvedTarget.TempFail f:
                        anyTemp = true;
                        LogDelivery(agent, msg, rcpt, "local", "4.3.0", "deferred", f.Reason, started, TimeSpan.Zero);
                        break;
                    case ResolvedTarget.Unknown u:
                        failures.Add($"<{u.Address}>: {u.Reason}");
                        break;
                }
            }
            if (anyTemp)
            {
                state ??= new QueueState();
                state.Reasons[rcpt.Address] = "temporary local delivery failure";
                continue;
            }
            if (failures.Count > 0 && !anySent && !anyBounced && !targets.Any(t => t is ResolvedTarget.Remote))
            {
                var o = new RecipientOutcome(rcpt, DeliveryStatus.Bounced, "5.1.1", "local", $"unknown user: \"{rcpt.Address}\"");
                LogDelivery(agent, msg, rcpt, "local", o.Dsn, "bounced", o.Text, started, TimeSpan.Zero);
                outcomes.Add(o);
            }
            else
                // The rest of the alias was delivered: an unknown member is the alias owner's to fix, not the sender's.
                foreach (var f in failures) _log.Warning("local", $"{id}: alias <{rcpt.Address}>: member not delivered: {f}");
            MarkDone(ref state, rcpt.Address);
        }

        if (remote.Count > 0)
        {
            var results = await _remote.DeliverAsync(msg, remote, ct).ConfigureAwait(false);
            foreach (var result in results)
            {
                var r = result;
                if (r.Status == DeliveryStatus.Local)
                    r = await DeliverHandedBackAsync(msg, r.Recipient, ct).ConfigureAwait(false);
                LogDelivery(agent, msg, r.Recipient, r.Relay, r.Dsn, r.Status switch
                {
                    DeliveryStatus.Sent => "sent", DeliveryStatus.Bounced => "bounced", _ => "deferred",
                }, r.Text, started, r.Transmission, r.Setup, r.Agent ?? (r.Relay == "local" ? "local" : "smtp"));
                if (r.Status == DeliveryStatus.Deferred)
                {
                    state ??= new QueueState();
                    state.Reasons[r.Recipient.Original ?? r.Recipient.Address] = r.Text;
                    // A remote target of an alias keeps its original recipient pending.
                    state.Done.Remove(r.Recipient.Original ?? r.Recipient.Address);
                    state.Done.Remove(r.Recipient.Address);
                    continue;
                }
                if (r.Status == DeliveryStatus.Bounced) outcomes.Add(r);
            }
        }

        var remaining = env.Recipients.Where(r => state is null || !state.Done.Contains(r.Address)).ToList();
        // Expiry: the message has been in the queue too long; bounce what is left.
        if (remaining.Count > 0)
        {
            var lifetime = env.IsBounce ? _options.BounceQueueLifetime : _options.MaximalQueueLifetime;
            if (_time.GetUtcNow() - env.Arrival >= lifetime)
            {
                foreach (var r in remaining)
                {
                    var reason = state?.Reasons.GetValueOrDefault(r.Address) ?? "delivery temporarily suspended";
                    var o = new RecipientOutcome(r, DeliveryStatus.Bounced, "4.4.7", "none", $"message expired: {reason}");
                    LogDelivery(agent, msg, r, "none", "4.4.7", "expired, returned to sender", reason, started, TimeSpan.Zero);
                    outcomes.Add(o);
                }
                remaining.Clear();
            }
        }

        if (outcomes.Count > 0)
            await BounceAsync(agent, msg, outcomes, ct).ConfigureAwait(false);

        // delay_warning_time: one "still being retried" notice per message (Postfix qmgr, RFC 3464 Action: delayed).
        if (remaining.Count > 0 && _options.DelayWarningTime > TimeSpan.Zero && !env.IsBounce && env.Sender.Length > 0
            && state is { DelayWarningSent: null } && _time.GetUtcNow() - env.Arrival >= _options.DelayWarningTime)
        {
            var delayed = remaining.Select(r => new RecipientOutcome(r, DeliveryStatus.Deferred, "4.4.7", "none",
                state.Reasons.GetValueOrDefault(r.Address) ?? "delivery temporarily suspended")).ToList();
            await BounceAsync(agent, msg, delayed, ct, delayWarning: true).ConfigureAwait(false);
            state.DelayWarningSent = _time.GetUtcNow();
        }

        if (remaining.Count == 0)
        {
            _spool.Remove(id, hasState: hadState || !fresh);
            _log.Info("qmgr", $"{id}: removed");
            return;
        }
        Defer(id, state);
    }

    private static int IndexOf(QueueEnvelope env, QueueRecipient rcpt)
    {
        for (int i = 0; i < env.Recipients.Count; i++)
            if (env.Recipients[i].Address == rcpt.Address) return i;
        return 0;
    }

    private static void MarkDone(ref QueueState? state, string address)
    {
        state ??= new QueueState();
        state.Done.Add(address);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _ready.Writer.TryComplete();
        try { await Task.WhenAll(_tasks).ConfigureAwait(false); } catch (OperationCanceledException) { }
    }
}
