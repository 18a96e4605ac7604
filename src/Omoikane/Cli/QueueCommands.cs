using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omoikane.Mail.Config;
using Omoikane.Mail.Queue;

namespace Omoikane.Cli;

/// <summary>omoikane queue list|flush|delete|show|hold|release (mailq, postqueue, postsuper, postcat).</summary>
public static class QueueCommands
{
    public static Command Create()
    {
        var queue = new Command("queue", "Inspect and manage the mail queue");

        var json = new Option<bool>("--json") { Description = "One JSON array, with postqueue -j field names" };
        var list = new Command("list", "List queued messages (like mailq)") { json };
        list.SetAction(parse =>
        {
            var spool = OpenSpool(parse);
            var items = Items(spool).ToList();
            if (parse.GetValue(json)) { Console.WriteLine(ToJson(items)); return 0; }
            Console.Write(ToMailq(items));
            return 0;
        });

        var flush = new Command("flush", "Retry every deferred message now (like postqueue -f)");
        flush.SetAction(parse =>
        {
            var spool = OpenSpool(parse);
            File.WriteAllText(Path.Combine(spool.Root, "flush"), "");
            return 0;
        });

        var delId = new Argument<string>("id") { Description = "Queue id, or ALL" };
        var delete = new Command("delete", "Delete a message, or ALL (like postsuper -d)") { delId };
        delete.SetAction(parse =>
        {
            var spool = OpenSpool(parse);
            var id = parse.GetValue(delId)!;
            var ids = id.Equals("ALL", StringComparison.Ordinal) ? spool.ListIds().ToList() : [CheckId(spool, id)];
            foreach (var i in ids) spool.Remove(i);
            Console.Error.WriteLine($"omoikane: Deleted: {ids.Count} message{(ids.Count == 1 ? "" : "s")}");
            return 0;
        });

        var showId = new Argument<string>("id");
        var show = new Command("show", "Print a queued message: envelope, then content (like postcat -q)") { showId };
        show.SetAction(parse =>
        {
            var spool = OpenSpool(parse);
            var id = CheckId(spool, parse.GetValue(showId)!);
            var msg = spool.Open(id, out var error) ?? throw new CliException($"{id}: {error}");
            Console.Write(msg.Envelope.Serialize());
            using var fs = new FileStream(msg.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            fs.Seek(msg.ContentOffset, SeekOrigin.Begin);
            var buf = new byte[msg.ContentLength];
            fs.ReadExactly(buf);
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(buf);
            return 0;
        });

        queue.Subcommands.Add(list);
        queue.Subcommands.Add(flush);
        queue.Subcommands.Add(delete);
        queue.Subcommands.Add(show);
        queue.Subcommands.Add(HoldCommand("hold", true));
        queue.Subcommands.Add(HoldCommand("release", false));
        return queue;
    }

    private static Command HoldCommand(string name, bool hold)
    {
        var id = new Argument<string>("id") { Description = "Queue id, or ALL" };
        var cmd = new Command(name, hold ? "Put a message on hold (like postsuper -h)" : "Release a held message (like postsuper -H)") { id };
        cmd.SetAction(parse =>
        {
            var spool = OpenSpool(parse);
            var arg = parse.GetValue(id)!;
            var ids = arg == "ALL" ? spool.ListIds().ToList() : [CheckId(spool, arg)];
            foreach (var i in ids)
            {
                var path = spool.StatePath(i);
                var state = QueueState.Load(path) ?? new QueueState { NextAttempt = DateTimeOffset.UtcNow };
                state.Hold = hold;
                if (!hold) state.NextAttempt = DateTimeOffset.UtcNow;
                state.Save(path);
            }
            if (!hold) File.WriteAllText(Path.Combine(spool.Root, "flush"), "");
            Console.Error.WriteLine($"omoikane: {(hold ? "Placed on hold" : "Released from hold")}: {ids.Count} message{(ids.Count == 1 ? "" : "s")}");
            return 0;
        });
        return cmd;
    }

    /// <summary>The mailq listing of a queue (sendmail -bp, mailq).</summary>
    internal static string Listing(Spool spool) => ToMailq(Items(spool).ToList());

    private static string CheckId(Spool spool, string id)
    {
        if (!QueueId.IsValid(id) || !File.Exists(spool.MessagePath(id)))
            throw new CliException($"{id}: no such message in the queue");
        return id;
    }

    private static Spool OpenSpool(ParseResult parse) => OpenSpool(CliConfig.Load(parse));

    private static Spool OpenSpool(LoadedConfig config) => new(config.QueueDirectory, new GroupCommit());

    /// <summary>How many messages each queue holds (active, deferred, hold), as mailq counts them.</summary>
    public static IReadOnlyList<(string Name, int Count)> Counts(LoadedConfig config)
    {
        if (!Directory.Exists(config.QueueDirectory)) return [("active", 0), ("deferred", 0), ("hold", 0)];
        var items = Items(OpenSpool(config)).ToList();
        return [.. new[] { "active", "deferred", "hold" }.Select(n => (n, items.Count(i => i.QueueName == n)))];
    }

    private sealed record Item(string QueueName, string Id, DateTimeOffset Arrival, long Size, string Sender, List<(string Address, string? Reason)> Recipients);

    private static IEnumerable<Item> Items(Spool spool)
    {
        foreach (var id in spool.ListIds().OrderBy(i => i, StringComparer.Ordinal))
        {
            var msg = spool.Open(id, out _);
            if (msg is null) continue;
            var state = QueueState.Load(spool.StatePath(id));
            var name = state is null ? "active" : state.Hold ? "hold" : "deferred";
            var rcpts = msg.Envelope.Recipients
                .Where(r => state is null || !state.Done.Contains(r.Address))
                .Select(r => (r.Address, state?.Reasons.GetValueOrDefault(r.Address))).ToList();
            yield return new Item(name, id, msg.Envelope.Arrival, msg.ContentLength, msg.Envelope.Sender, rcpts);
        }
    }

    private static string ToJson(List<Item> items)
    {
        var arr = new JsonArray();
        foreach (var i in items)
        {
            var rcpts = new JsonArray();
            foreach (var (a, r) in i.Recipients)
            {
                var o = new JsonObject { ["address"] = a };
                if (r is not null) o["delay_reason"] = r;
                rcpts.Add(o);
            }
            arr.Add(new JsonObject
            {
                ["queue_name"] = i.QueueName, ["queue_id"] = i.Id, ["arrival_time"] = i.Arrival.ToUnixTimeSeconds(),
                ["message_size"] = i.Size, ["sender"] = i.Sender, ["recipients"] = rcpts,
            });
        }
        return arr.ToJsonString();
    }

    /// <summary>The mailq layout: "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------".</summary>
    private static string ToMailq(List<Item> items)
    {
        if (items.Count == 0) return "Mail queue is empty\n";
        var sb = new StringBuilder();
        sb.Append("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
        long total = 0;
        foreach (var i in items)
        {
            total += i.Size;
            var mark = i.QueueName == "active" ? "*" : i.QueueName == "hold" ? "!" : " ";
            var arrival = i.Arrival.ToLocalTime().ToString("ddd MMM dd HH:mm:ss", CultureInfo.InvariantCulture);
            sb.Append((i.Id + mark).PadRight(12)).Append(i.Size.ToString(CultureInfo.InvariantCulture).PadLeft(8)).Append(' ')
              .Append(arrival).Append("  ").Append(i.Sender.Length == 0 ? "MAILER-DAEMON" : i.Sender).Append('\n');
            foreach (var (a, r) in i.Recipients)
            {
                if (r is not null) sb.Append("(").Append(r).Append(")\n");
                sb.Append(new string(' ', 41)).Append(a).Append('\n');
            }
            sb.Append('\n');
        }
        sb.Append("-- ").Append((total + 1023) / 1024).Append(" Kbytes in ").Append(items.Count).Append(items.Count == 1 ? " Request.\n" : " Requests.\n");
        return sb.ToString();
    }
}
