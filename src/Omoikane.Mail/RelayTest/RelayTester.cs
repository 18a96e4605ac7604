using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.RelayTest;

/// <summary>
/// Runs the open-relay battery (<see cref="RelayTestBattery"/>) against any SMTP server, the engine of
/// <c>omoikane relaytest</c>. Each test is its own mail transaction (RFC 5321 §3.3): MAIL, RCPT and, when
/// RCPT is accepted, DATA with a tiny message whose Subject says what it is; RSET (§4.1.1.5) separates
/// the transactions. A test counts as relayed only when the end of data gets 2xx (with
/// <see cref="RelayTestOptions.NoData"/>: when RCPT gets 2xx); 5xx is "refused", and 4xx "inconclusive" (the
/// server put the decision off, so the test says nothing about relaying).
/// When the server drops the connection (or answers 421, §3.8) the next test opens a new one; a test cut
/// off before its decisive reply is retried once on a fresh connection, then reported as failed.
/// It prints one line per test and a verdict line to the output; see <see cref="RelayTestReport.ExitCode"/>.
/// </summary>
public sealed class RelayTester
{
    private readonly TimeProvider _time;

    public RelayTester(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>
    /// Runs the battery. The report's <see cref="RelayTestReport.ExitCode"/> is 0 when nothing relayed,
    /// 1 when any attempt relayed, 2 when the server could not be reached or a test could not be completed
    /// (protocol failure) and nothing relayed.
    /// </summary>
    public async Task<RelayTestReport> RunAsync(RelayTestOptions options, TextWriter output, CancellationToken ct)
    {
        var endpoint = new RelayTestEndpoint(options.Host, options.Port);
        var helo = options.Helo ?? LocalHostName();
        var from = options.From ?? $"relaytest@{helo}";

        if (Validate(options, helo, from) is { } invalid)
            return await FinishAsync(output, endpoint, null, null, [], $"relaytest: invalid option: {invalid}", ct).ConfigureAwait(false);

        IReadOnlyList<IPAddress> addresses;
        try
        {
            addresses = await ResolveAsync(options, ct).ConfigureAwait(false);
        }
        catch (RelaySmtpException e)
        {
            return await FinishAsync(output, endpoint, null, null, [], $"relaytest: cannot connect to {endpoint}: {e.Message}", ct).ConfigureAwait(false);
        }

        var session = new Session(this, options, addresses, helo);
        RelaySmtpClient client;
        string greeting;
        try
        {
            (client, greeting) = await session.OpenAsync(ct).ConfigureAwait(false);
        }
        catch (RelaySmtpException e)
        {
            return await FinishAsync(output, endpoint, null, null, [], $"relaytest: cannot connect to {endpoint}: {e.Message}", ct).ConfigureAwait(false);
        }

        var address = client.RemoteAddress;
        await WriteAsync(output, $"relaytest: connected to {options.Host}[{address}]:{options.Port}: {greeting}", ct).ConfigureAwait(false);
        var target = RelayTestTarget.Create(options.Host, address, greeting, from, options.ToDomain, options.ToAddress);
        var battery = RelayTestBattery.Build(target);
        var results = new List<RelayTestResult>(battery.Count);
        RelaySmtpClient? current = client;
        string? unreachable = null;
        try
        {
            foreach (var test in battery)
            {
                RelayTestResult? result = null;
                for (var attempt = 0; result is null; attempt++)
                {
                    if (unreachable is not null)
                    {
                        result = new RelayTestResult(test, RelayTestOutcome.NotRun, RelayTestStage.Connect, null, unreachable);
                        break;
                    }
                    if (current is null)
                    {
                        try
                        {
                            (current, _) = await session.OpenAsync(ct).ConfigureAwait(false);
                        }
                        catch (RelaySmtpException e)
                        {
                            unreachable = $"cannot reconnect: {e.Message}";
                            continue;
                        }
                    }
                    var stage = RelayTestStage.MailFrom;
                    try
                    {
                        result = await TransactAsync(current, test, target, options, helo, s => stage = s, ct).ConfigureAwait(false);
                    }
                    catch (RelaySmtpException e)
                    {
                        await current.DisposeAsync().ConfigureAwait(false);
                        current = null;
                        if (attempt > 0)
                            result = new RelayTestResult(test, RelayTestOutcome.Failed, stage, null, e.Message);
                        continue;
                    }
                    current = await ResetAsync(current, result.Reply, ct).ConfigureAwait(false);
                }
                results.Add(result);
                await WriteAsync(output, FormatResult(result), ct).ConfigureAwait(false);
            }
        }
        finally
        {
            if (current is not null)
            {
                try
                {
                    if (!ct.IsCancellationRequested) await QuitAsync(current, ct).ConfigureAwait(false);
                }
                finally
                {
                    await current.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        return await FinishAsync(output, endpoint, address.ToString(), greeting, results, null, ct).ConfigureAwait(false);
    }

    /// <summary>One mail transaction (RFC 5321 §3.3). Throws <see cref="RelaySmtpException"/> only when the connection breaks.</summary>
    private async Task<RelayTestResult> TransactAsync(RelaySmtpClient c, RelayTestCase test, RelayTestTarget target, RelayTestOptions options, string helo, Action<RelayTestStage> stage, CancellationToken ct)
    {
        // §4.1.1.2 MAIL FROM:<reverse-path>
        stage(RelayTestStage.MailFrom);
        var mail = await c.CommandAsync($"MAIL FROM:<{test.MailFrom}>", ct).ConfigureAwait(false);
        if (Refusal(mail) is { } m) return new RelayTestResult(test, m, RelayTestStage.MailFrom, mail);

        // §4.1.1.3 RCPT TO:<forward-path>
        stage(RelayTestStage.RcptTo);
        var rcpt = await c.CommandAsync($"RCPT TO:<{test.RcptTo}>", ct).ConfigureAwait(false);
        if (Refusal(rcpt) is { } r) return new RelayTestResult(test, r, RelayTestStage.RcptTo, rcpt);
        if (options.NoData) return new RelayTestResult(test, RelayTestOutcome.Relayed, RelayTestStage.RcptTo, rcpt);

        // §4.1.1.4 DATA: 354, the content, then the reply to the end of data decides.
        stage(RelayTestStage.Data);
        var data = await c.CommandAsync("DATA", ct).ConfigureAwait(false);
        if (data.Code != 354)
            return new RelayTestResult(test, Refusal(data) ?? RelayTestOutcome.Failed, RelayTestStage.Data, data,
                data.IsPositive ? "unexpected reply to DATA" : null);
        var end = await c.SendDataAsync(Message(test, target, options, helo), ct).ConfigureAwait(false);
        return new RelayTestResult(test, Refusal(end) ?? RelayTestOutcome.Relayed, RelayTestStage.Data, end);
    }

    /// <summary>Null for 2xx (go on); 4xx/5xx refuse (RFC 5321 §4.2.1); a 3xx where none belongs is a failure.</summary>
    private static RelayTestOutcome? Refusal(SmtpReply reply) => reply.Code switch
    {
        >= 200 and < 300 => null,
        >= 400 and < 500 => RelayTestOutcome.Inconclusive,
        >= 500 => RelayTestOutcome.Refused,
        _ => RelayTestOutcome.Failed,
    };

    /// <summary>
    /// Ends the transaction with RSET (RFC 5321 §4.1.1.5). After 421 (§3.8) or a failed RSET the connection
    /// is closed, and null tells the caller to open a new one for the next test.
    /// </summary>
    private static async Task<RelaySmtpClient?> ResetAsync(RelaySmtpClient c, SmtpReply? last, CancellationToken ct)
    {
        if (last is { Code: 421 })
        {
            await c.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        try
        {
            var rset = await c.CommandAsync("RSET", ct).ConfigureAwait(false);
            if (rset.Code == 250) return c;
        }
        catch (RelaySmtpException)
        {
        }
        await c.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    private static async Task QuitAsync(RelaySmtpClient c, CancellationToken ct)
    {
        try
        {
            await c.CommandAsync("QUIT", ct).ConfigureAwait(false); // §4.1.1.10
        }
        catch (RelaySmtpException)
        {
        }
    }

    /// <summary>The test message: RFC 5322 headers with a Subject that says what it is, and a short body.</summary>
    private string Message(RelayTestCase test, RelayTestTarget target, RelayTestOptions options, string helo)
    {
        var now = _time.GetUtcNow();
        var date = now.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        var id = $"relaytest.{now.ToUnixTimeMilliseconds()}.{test.Number}@{helo}";
        var sender = options.From ?? $"relaytest@{helo}";
        return string.Join("\r\n",
            $"From: <{sender}>",
            $"To: <{RelayTestBattery.LocalPart}@{target.ToDomain}>",
            $"Subject: omoikane relaytest: open relay test {test.Number} through {target.HostName}",
            $"Date: {date}",
            $"Message-ID: <{id}>",
            "",
            $"This message was sent by \"omoikane relaytest\" to check whether {target.HostName}",
            $"{target.AddressLiteral} relays mail for third parties (test {test.Number}: {test.Name},",
            $"MAIL FROM:<{test.MailFrom}> RCPT TO:<{test.RcptTo}>).",
            "If it reached you, that server is an open relay; please tell its postmaster.");
    }

    public static string FormatResult(RelayTestResult r)
    {
        var stage = r.Stage switch
        {
            RelayTestStage.MailFrom => "MAIL",
            RelayTestStage.RcptTo => "RCPT",
            RelayTestStage.Data => "DATA",
            _ => "connect",
        };
        var outcome = r.Outcome switch
        {
            RelayTestOutcome.Relayed => "RELAYED",
            RelayTestOutcome.Refused => "refused",
            RelayTestOutcome.Inconclusive => "inconclusive",
            RelayTestOutcome.Failed => "failed",
            _ => "not run",
        };
        var what = r.Outcome == RelayTestOutcome.NotRun ? outcome : $"{outcome} at {stage}";
        var why = string.Join(": ", new[] { r.Reply?.ToString(), r.Detail }.Where(s => !string.IsNullOrEmpty(s)));
        return $"relaytest: test {r.Number} ({r.Test.Name}): from=<{r.MailFrom}> to=<{r.RcptTo}>: {what}: {why}";
    }

    private static async Task<RelayTestReport> FinishAsync(TextWriter output, RelayTestEndpoint endpoint, string? address, string? greeting, IReadOnlyList<RelayTestResult> results, string? failure, CancellationToken ct)
    {
        var report = new RelayTestReport(endpoint.Host, endpoint.Port, address, greeting, results, "");
        var undecided = new List<string>();
        if (report.Inconclusive > 0) undecided.Add($"{report.Inconclusive} cut short by a 4xx reply");
        if (report.Incomplete > 0) undecided.Add($"{report.Incomplete} incomplete");
        var verdict = failure
            ?? (report.Relayed > 0 ? $"relaytest: {results.Count} tests, {report.Relayed} relayed: OPEN RELAY"
            : undecided.Count > 0 ? $"relaytest: {results.Count} tests, 0 relayed, {string.Join(", ", undecided)}: inconclusive"
            : $"relaytest: {results.Count} tests, 0 relayed: not an open relay");
        await WriteAsync(output, verdict, ct).ConfigureAwait(false);
        return report with { Verdict = verdict };
    }

    private static Task WriteAsync(TextWriter output, string line, CancellationToken ct) => output.WriteLineAsync(line.AsMemory(), ct);

    /// <summary>Checks what goes on the wire verbatim: printable ASCII without spaces or angle brackets (RFC 5321 §4.1.2).</summary>
    private static string? Validate(RelayTestOptions o, string helo, string from)
    {
        static bool Clean(string s) => s.All(c => c is > ' ' and < '\x7f' and not ('<' or '>'));
        static string Show(string s) => new(s.Select(c => c is < ' ' or >= '\x7f' ? '?' : c).ToArray());
        if (o.Port is < 1 or > 65535) return $"port {o.Port} out of range";
        if (o.Host.Length == 0 || !Clean(o.Host)) return "bad host";
        if (helo.Length == 0 || !Clean(helo)) return $"bad HELO name \"{Show(helo)}\"";
        if (from.Length == 0 || !Clean(from)) return $"bad sender \"{Show(from)}\"";
        if (o.ToDomain.Length == 0 || !Clean(o.ToDomain) || o.ToDomain.Contains('@')) return $"bad domain \"{Show(o.ToDomain)}\"";
        if (o.ConnectTimeout <= TimeSpan.Zero || o.CommandTimeout <= TimeSpan.Zero) return "timeouts must be positive";
        return null;
    }

    private static async Task<IReadOnlyList<IPAddress>> ResolveAsync(RelayTestOptions o, CancellationToken ct)
    {
        var host = o.Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var ip)) return [ip];
        if (o.Resolver is { } resolver)
        {
            var answer = await resolver.LookupAddressesAsync(host, ct).ConfigureAwait(false);
            if (answer.Found) return answer.Records;
            throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, $"cannot resolve {host}: {answer.Error ?? answer.Status.ToString()}");
        }
        try
        {
            var list = await System.Net.Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            if (list.Length > 0) return list;
            throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, $"cannot resolve {host}");
        }
        catch (SocketException e)
        {
            throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, $"cannot resolve {host}: {e.Message}", e);
        }
    }

    private static string LocalHostName()
    {
        try
        {
            var name = System.Net.Dns.GetHostName();
            if (!string.IsNullOrEmpty(name)) return name;
        }
        catch (SocketException)
        {
        }
        return Environment.MachineName is { Length: > 0 } m ? m : "localhost";
    }

    /// <summary>Opens connections: greeting (RFC 5321 §4.3.1, 220 expected), then EHLO, HELO if EHLO gets 5xx (§4.1.1.1, §3.2).</summary>
    private sealed class Session(RelayTester tester, RelayTestOptions options, IReadOnlyList<IPAddress> addresses, string helo)
    {
        public async Task<(RelaySmtpClient Client, string Greeting)> OpenAsync(CancellationToken ct)
        {
            var c = await RelaySmtpClient.ConnectAsync(addresses, options.Source, options.Port, options.ConnectTimeout, options.CommandTimeout, tester._time, ct).ConfigureAwait(false);
            try
            {
                var greeting = await c.ReadReplyAsync(ct).ConfigureAwait(false);
                if (greeting.Code != 220)
                    throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, $"session refused: {greeting}");
                var ehlo = await c.CommandAsync($"EHLO {helo}", ct).ConfigureAwait(false);
                if (ehlo.IsPermanent)
                {
                    var heloReply = await c.CommandAsync($"HELO {helo}", ct).ConfigureAwait(false);
                    if (heloReply.Code != 250)
                        throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, $"HELO refused: {heloReply}");
                }
                else if (ehlo.Code != 250)
                    throw RelaySmtpException.Create(RelaySmtpFailure.ConnectFailed, $"EHLO refused: {ehlo}");
                return (c, greeting.ToString());
            }
            catch
            {
                await c.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }
}
