using System.CommandLine;
using Omoikane.Mail.RelayTest;

namespace Omoikane.Cli;

/// <summary>omoikane relaytest HOST[:PORT]: the open-relay battery against any SMTP server; exit 1 if anything relayed.</summary>
public static class RelayTestCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("host") { Description = "HOST[:PORT] of the SMTP server to test (port 25 by default)" };
        var helo = new Option<string?>("--helo") { Description = "Name to send in EHLO/HELO" };
        var from = new Option<string?>("--from") { Description = "Envelope sender of the tests" };
        var toDomain = new Option<string?>("--to-domain") { Description = $"The remote domain relaying is attempted to (default {RelayTestOptions.DefaultToDomain})" };
        var source = new Option<string?>("--source") { Description = "Local IP address to connect from (e.g. 127.0.0.2, outside a mynetworks of 127.0.0.1/32)" };
        var noData = new Option<bool>("--no-data") { Description = "Stop at RCPT: an accepted recipient counts as relayed, no test message is sent" };
        var cmd = new Command("relaytest", "Run the open-relay test battery against an SMTP server") { target, helo, from, toDomain, source, noData };
        cmd.SetAction(async (parse, ct) =>
        {
            if (!RelayTestEndpoint.TryParse(parse.GetValue(target)!, 25, out var ep))
                throw new CliException($"relaytest: bad HOST[:PORT] \"{parse.GetValue(target)}\"", 2);
            System.Net.IPAddress? sourceAddress = null;
            if (parse.GetValue(source) is { } s && !System.Net.IPAddress.TryParse(s, out sourceAddress))
                throw new CliException($"relaytest: bad --source address \"{s}\"", 2);
            var options = new RelayTestOptions
            {
                Host = ep.Host, Port = ep.Port, Helo = parse.GetValue(helo), From = parse.GetValue(from),
                ToDomain = parse.GetValue(toDomain) ?? RelayTestOptions.DefaultToDomain, NoData = parse.GetValue(noData),
                Source = sourceAddress,
            };
            var report = await new RelayTester().RunAsync(options, Console.Out, ct);
            return report.ExitCode;
        });
        return cmd;
    }
}
