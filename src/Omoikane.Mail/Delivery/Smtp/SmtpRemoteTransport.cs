using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Mail.Queue;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Delivery.Smtp;

/// <summary>
/// Delivery to other hosts over SMTP (Postfix smtp(8)). Recipients of one message are grouped by next hop
/// (<see cref="NextHopResolver"/>); each group goes through the addresses of its route
/// (<see cref="MxRouteResolver"/>) until one server takes the transaction. Per recipient the outcome
/// carries Postfix's relay= and status text. At most smtp_destination_concurrency_limit deliveries run
/// per destination at once; idle connections are reused for the next message (<see cref="SmtpConnectionCache"/>).
/// </summary>
public sealed class SmtpRemoteTransport : IRemoteTransport, IAsyncDisposable
{
    private readonly SmtpClientOptions _options;
    private readonly NextHopResolver _nextHops;
    private readonly MxRouteResolver _routes;
    private readonly TimeProvider _time;
    private readonly SmtpConnectionCache _cache;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _destinations = new(StringComparer.Ordinal);

    public SmtpRemoteTransport(SmtpClientOptions options, IDnsResolver dns, IReadOnlyList<ILookupTable> transportMaps, TimeProvider? time = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _nextHops = new NextHopResolver(transportMaps, options.Relayhost, options.MxPort);
        _routes = new MxRouteResolver(dns);
        _cache = new SmtpConnectionCache(options.ConnectionCacheTimeLimit, _time);
    }

    public SmtpConnectionCache ConnectionCache => _cache;

    public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(QueueMessageFile message, IReadOnlyList<QueueRecipient> recipients, CancellationToken ct)
    {
        var groups = new Dictionary<string, (NextHop Hop, List<QueueRecipient> Rcpts)>(StringComparer.Ordinal);
        foreach (var r in recipients)
        {
            var hop = await _nextHops.ResolveAsync(r.Address, ct).ConfigureAwait(false);
            if (!groups.TryGetValue(hop.Key, out var g)) groups[hop.Key] = g = (hop, new List<QueueRecipient>());
            g.Rcpts.Add(r);
        }
        var tasks = groups.Values.Select(g => DeliverGroupAsync(message, g.Hop, g.Rcpts, ct)).ToList();
        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        return results.SelectMany(r => r).ToList();
    }

    private async Task<IReadOnlyList<RecipientOutcome>> DeliverGroupAsync(QueueMessageFile message, NextHop hop, List<QueueRecipient> rcpts, CancellationToken ct)
    {
        switch (hop.Kind)
        {
            // Postfix's error(8), retry and discard(8) agents: relay=none, the status and text of the entry.
            case NextHopKind.Error:
                return All(rcpts, DeliveryStatus.Bounced, hop.Dsn!, "none", hop.Text!, agent: "error");
            case NextHopKind.Retry:
                return All(rcpts, DeliveryStatus.Deferred, hop.Dsn!, "none", hop.Text!, agent: "error");
            case NextHopKind.Discard:
                return All(rcpts, DeliveryStatus.Sent, hop.Dsn!, "none", hop.Text!, agent: "discard");
            case NextHopKind.TempFail:
                return All(rcpts, DeliveryStatus.Deferred, "4.3.0", "none", hop.Text!);
            case NextHopKind.Local:
                return All(rcpts, DeliveryStatus.Local, "2.0.0", "local", "handed to local delivery by transport_maps");
        }
        var gate = _destinations.GetOrAdd(hop.Key, _ => new SemaphoreSlim(_options.DestinationConcurrencyLimit));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await DeliverSmtpAsync(message, hop, rcpts, ct).ConfigureAwait(false);
        }
        finally { gate.Release(); }
    }

    private static List<RecipientOutcome> All(IEnumerable<QueueRecipient> rcpts, DeliveryStatus status, string dsn, string relay, string text,
        TimeSpan setup = default, TimeSpan transmission = default, string? agent = null)
        => rcpts.Select(r => new RecipientOutcome(r, status, dsn, relay, text, setup, transmission, agent)).ToList();

    private async Task<IReadOnlyList<RecipientOutcome>> DeliverSmtpAsync(QueueMessageFile message, NextHop hop, List<QueueRecipient> rcpts, CancellationToken ct)
    {
        var begin = _time.GetTimestamp();
        var route = await _routes.ResolveAsync(hop, ct).ConfigureAwait(false);
        if (route.Failure is { } failure)
            return All(rcpts, failure, route.Dsn!, "none", route.Text!, _time.GetElapsedTime(begin));

        // The last session-level failure decides the outcome when no server took the message.
        (DeliveryStatus Status, string Dsn, string Relay, string Text) last = (DeliveryStatus.Deferred, "4.4.1", "none", "no route to destination");
        foreach (var target in route.Targets)
        {
            var key = $"{target.HostName}[{target.Address}]:{target.Port}";
            var conn = await ReuseAsync(key, ct).ConfigureAwait(false);
            if (conn is null)
            {
                try
                {
                    conn = await SmtpClientConnection.ConnectAsync(target.HostName, target.Address, target.Port, _options.ConnectTimeout, _time, ct).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    last = (DeliveryStatus.Deferred, "4.4.1", "none", $"connect to {key}: {SocketText(e)}");
                    continue;
                }
                catch (TimeoutException)
                {
                    last = (DeliveryStatus.Deferred, "4.4.1", "none", $"connect to {key}: Connection timed out");
                    continue;
                }
                var setup = await SetUpAsync(conn, ct).ConfigureAwait(false);
                if (setup is { } bad)
                {
                    await conn.DisposeAsync().ConfigureAwait(false);
                    last = bad;
                    continue;
                }
            }
            var setupTime = _time.GetElapsedTime(begin);
            var started = _time.GetTimestamp();
            var (outcomes, retryElsewhere, reusable) = await TransactAsync(conn, message, rcpts, ct).ConfigureAwait(false);
            var transmission = _time.GetElapsedTime(started);
            if (reusable && _cache.Return(key, conn)) { }
            else if (reusable) await SmtpConnectionCache.QuitAsync(conn).ConfigureAwait(false);
            else await conn.DisposeAsync().ConfigureAwait(false);
            if (retryElsewhere is { } failed)
            {
                last = failed;
                continue;
            }
            return outcomes.Select(o => o with { Setup = setupTime, Transmission = transmission }).ToList();
        }
        return All(rcpts, last.Status, last.Dsn, last.Relay, last.Text, _time.GetElapsedTime(begin));
    }

    private static string SocketText(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.TimedOut => "Connection timed out",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.HostUnreachable => "No route to host",
        _ => e.Message,
    };

    /// <summary>An idle connection to the same server, checked with RSET (RFC 5321 §4.1.1.5); null when none is usable.</summary>
    private async Task<SmtpClientConnection?> ReuseAsync(string key, CancellationToken ct)
    {
        while (_cache.Take(key) is { } conn)
        {
            try
            {
                var r = await conn.CommandAsync("RSET", SmtpClientStage.Rset, _options.MailTimeout, ct).ConfigureAwait(false);
                if (r.IsPositive) return conn;
            }
            catch (SmtpClientException) { }
            await conn.DisposeAsync().ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>Greeting, EHLO (HELO when EHLO is refused, RFC 5321 §4.1.1.1), STARTTLS per smtp_tls_security_level (RFC 3207).</summary>
    private async Task<(DeliveryStatus, string, string, string)?> SetUpAsync(SmtpClientConnection conn, CancellationToken ct)
    {
        var relay = conn.Relay;
        try
        {
            var greeting = await conn.ReadReplyAsync(SmtpClientStage.Greeting, _options.HeloTimeout, ct).ConfigureAwait(false);
            if (!greeting.IsPositive)
                return Failure(greeting, relay, $"host {conn.Peer} refused to talk to me: {greeting}");
            var ehlo = await conn.EhloAsync(_options.HeloName, _options.HeloTimeout, ct).ConfigureAwait(false);
            if (!ehlo.IsPositive)
            {
                var helo = await conn.CommandAsync($"HELO {_options.HeloName}", SmtpClientStage.Helo, _options.HeloTimeout, ct).ConfigureAwait(false);
                if (!helo.IsPositive) return Failure(helo, relay, $"host {conn.Peer} said: {helo} (in reply to HELO command)");
            }
            if (_options.TlsWanted && conn.Extensions.ContainsKey("STARTTLS"))
            {
                var st = await conn.CommandAsync("STARTTLS", SmtpClientStage.StartTls, _options.HeloTimeout, ct).ConfigureAwait(false);
                if (st.Code == 220)
                {
                    await conn.StartTlsAsync(_options.HeloTimeout, ct).ConfigureAwait(false);
                    // RFC 3207 §4.2: forget what the server said before TLS and ask again.
                    var again = await conn.EhloAsync(_options.HeloName, _options.HeloTimeout, ct).ConfigureAwait(false);
                    if (!again.IsPositive) return Failure(again, relay, $"host {conn.Peer} said: {again} (in reply to EHLO command)");
                }
                else if (_options.TlsRequired)
                    return (DeliveryStatus.Deferred, "4.7.5", relay, $"host {conn.Peer} said: {st} (in reply to STARTTLS command)");
            }
            if (_options.TlsRequired && !conn.IsTls)
                return (DeliveryStatus.Deferred, "4.7.4", relay, $"TLS is required, but was not offered by host {conn.Peer}");
            return null;
        }
        catch (SmtpClientException e)
        {
            return (DeliveryStatus.Deferred, "4.4.2", relay, SessionText(conn, e));
        }
    }

    private static (DeliveryStatus, string, string, string) Failure(SmtpReply reply, string relay, string text)
        => (reply.IsPermanent ? DeliveryStatus.Bounced : DeliveryStatus.Deferred, Dsn(reply), relay, text);

    /// <summary>The reply's enhanced code (RFC 3463), else one made from its class: 5.0.0, 4.0.0, 2.0.0.</summary>
    private static string Dsn(SmtpReply reply) => reply.Enhanced ?? $"{reply.Code / 100}.0.0";

    private static string SessionText(SmtpClientConnection conn, SmtpClientException e) => e.TimedOut
        ? $"conversation with {conn.Peer} timed out {SmtpClientStageText.While(e.Stage)}"
        : $"lost connection with {conn.Peer} {SmtpClientStageText.While(e.Stage)}";

    /// <summary>
    /// MAIL FROM (with SIZE, RFC 1870 §6, and BODY=8BITMIME, RFC 6152 §2, when the server offers them),
    /// one RCPT TO per recipient, DATA. Returns per-recipient outcomes, or a failure for which the next
    /// server of the route should be tried (a 4xx to MAIL FROM, a lost connection before any recipient was done).
    /// </summary>
    private async Task<(List<RecipientOutcome> Outcomes, (DeliveryStatus, string, string, string)? RetryElsewhere, bool Reusable)> TransactAsync(
        SmtpClientConnection conn, QueueMessageFile message, List<QueueRecipient> rcpts, CancellationToken ct)
    {
        var env = message.Envelope;
        var relay = conn.Relay;
        var outcomes = new List<RecipientOutcome>();
        var stage = SmtpClientStage.MailFrom;
        conn.Uses++;
        try
        {
            var mail = $"MAIL FROM:<{env.Sender}>";
            if (conn.Extensions.ContainsKey("SIZE")) mail += " SIZE=" + message.ContentLength.ToString(CultureInfo.InvariantCulture);
            if (env.Body is "8BITMIME" && conn.Extensions.ContainsKey("8BITMIME")) mail += " BODY=8BITMIME";
            if (env.SmtpUtf8)
            {
                // RFC 6531 §3.4: without the extension the message cannot go to this server.
                if (!conn.Extensions.ContainsKey("SMTPUTF8"))
                    return (All(rcpts, DeliveryStatus.Bounced, "5.6.7", relay, $"SMTPUTF8 is required, but was not offered by host {conn.Peer}"), null, true);
                mail += " SMTPUTF8";
            }
            var mr = await conn.CommandAsync(mail, stage, _options.MailTimeout, ct).ConfigureAwait(false);
            if (!mr.IsPositive)
            {
                var text = $"host {conn.Peer} said: {mr} ({SmtpClientStageText.InReplyTo(stage)})";
                if (mr.IsPermanent) return (All(rcpts, DeliveryStatus.Bounced, Dsn(mr), relay, text), null, true);
                return (outcomes, (DeliveryStatus.Deferred, Dsn(mr), relay, text), true);
            }

            stage = SmtpClientStage.RcptTo;
            var accepted = new List<QueueRecipient>();
            foreach (var r in rcpts)
            {
                var rr = await conn.CommandAsync($"RCPT TO:<{r.Address}>", stage, _options.RcptTimeout, ct).ConfigureAwait(false);
                if (rr.IsPositive) { accepted.Add(r); continue; }
                outcomes.Add(new RecipientOutcome(r, rr.IsPermanent ? DeliveryStatus.Bounced : DeliveryStatus.Deferred, Dsn(rr), relay,
                    $"host {conn.Peer} said: {rr} ({SmtpClientStageText.InReplyTo(stage)})"));
            }
            if (accepted.Count == 0)
                return (outcomes, null, true);

            stage = SmtpClientStage.Data;
            var dr = await conn.CommandAsync("DATA", stage, _options.DataInitTimeout, ct).ConfigureAwait(false);
            if (dr.Code != 354)
            {
                outcomes.AddRange(All(accepted, dr.IsPermanent ? DeliveryStatus.Bounced : DeliveryStatus.Deferred, Dsn(dr), relay,
                    $"host {conn.Peer} said: {dr} ({SmtpClientStageText.InReplyTo(stage)})"));
                return (outcomes, null, true);
            }
            stage = SmtpClientStage.EndOfData;
            var end = await conn.SendMessageAsync(message, _options.DataXferTimeout, _options.DataDoneTimeout, ct).ConfigureAwait(false);
            if (end.IsPositive)
                outcomes.AddRange(All(accepted, DeliveryStatus.Sent, Dsn(end), relay, end.ToString()));
            else
                outcomes.AddRange(All(accepted, end.IsPermanent ? DeliveryStatus.Bounced : DeliveryStatus.Deferred, Dsn(end), relay,
                    $"host {conn.Peer} said: {end} ({SmtpClientStageText.InReplyTo(stage)})"));
            return (outcomes, null, true);
        }
        catch (SmtpClientException e)
        {
            var failure = (DeliveryStatus.Deferred, "4.4.2", relay, SessionText(conn, e));
            // Before DATA nothing was delivered: the next server may take all of it.
            if (stage is SmtpClientStage.MailFrom or SmtpClientStage.RcptTo) return (outcomes, failure, false);
            var done = outcomes.Select(o => o.Recipient).ToHashSet();
            outcomes.AddRange(All(rcpts.Where(r => !done.Contains(r)), DeliveryStatus.Deferred, "4.4.2", relay, SessionText(conn, e)));
            return (outcomes, null, false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cache.DisposeAsync().ConfigureAwait(false);
        foreach (var s in _destinations.Values) s.Dispose();
    }
}
