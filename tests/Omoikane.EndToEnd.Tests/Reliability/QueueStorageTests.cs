using System.Diagnostics;
using System.Text;
using Omoikane.EndToEnd.Tests.Support;
using Omoikane.Mail.Queue;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>A full disk under the queue, and broken queue files found at start.</summary>
public sealed class QueueStorageTests
{
    private static bool Run(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            if (!p.WaitForExit(20000)) { p.Kill(); return false; }
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    [SkippableFact]
    public async Task FullQueueFilesystemAnswers452AndRecoversWhenSpaceReturns()
    {
        var mount = Path.Combine(Path.GetTempPath(), "omoikane-tmpfs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mount);
        var mounted = OperatingSystem.IsLinux() && Run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount);
        if (!mounted) Directory.Delete(mount);
        Skip.IfNot(mounted, "cannot mount a tmpfs here (needs root on Linux)");
        try
        {
            await using var server = await TestServer.StartAsync($"queue_directory = {mount}/queue\nmessage_size_limit = 10000000");
            server.AddUser("alice@example.test", "x");
            // Take every free byte of the filesystem.
            var filler = Path.Combine(mount, "filler");
            await using (var fs = new FileStream(filler, FileMode.CreateNew))
            {
                var block = new byte[4096];
                try { for (int i = 0; i < 4096; i++) fs.Write(block); fs.Flush(true); }
                catch (IOException) { }
            }
            await using var c = await Hostile.OpenSmtpAsync(server.EndPoint());
            Assert.Equal("452 4.3.1 Insufficient system storage", await c.SendMessageAsync("bob@remote.example", "alice@example.test", "full", new string('x', 100_000)));
            await server.WaitForLogAsync("queue file write error");
            Assert.Empty(Directory.GetFiles(Path.Combine(mount, "queue", "incoming")));
            Assert.Empty(Directory.GetFiles(Path.Combine(mount, "queue", "messages")));
            // Space returns: the same session goes on.
            File.Delete(filler);
            Assert.StartsWith("250 2.0.0 Ok: queued as ", await c.SendMessageAsync("bob@remote.example", "alice@example.test", "after", new string('x', 100_000)));
            var files = await server.WaitForMailAsync("example.test", "alice");
            Assert.Equal("after", Hostile.SubjectOf(Assert.Single(files)));
        }
        finally
        {
            Run("umount", mount);
            try { Directory.Delete(mount, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task CorruptAndTruncatedQueueFilesAreQuarantinedAtStart()
    {
        var ids = new List<(string Id, string Kind)>();
        var good = QueueId.Next();
        await using var server = await TestServer.StartAsync(prepare: dir =>
        {
            var messages = Path.Combine(dir, "data", "queue", "messages");
            Directory.CreateDirectory(messages);
            // The recipient exists before the queue is resumed.
            new Omoikane.Mail.Credentials.FileUserStore(Path.Combine(dir, "data", "users"), Omoikane.Mail.Credentials.CredentialOptions.Default)
                .Add("alice@example.test", "x");
            QueueEnvelope Env(string id) => new()
            {
                QueueId = id, Arrival = DateTimeOffset.UtcNow, Sender = "bob@remote.example",
                Recipients = [new QueueRecipient("alice@example.test")],
            };
            void Put(string kind, byte[] content) => PutFor(kind, _ => content);
            void PutFor(string kind, Func<string, byte[]> content)
            {
                Thread.Sleep(2); // distinct ids
                var id = QueueId.Next();
                File.WriteAllBytes(Path.Combine(messages, id), content(id));
                ids.Add((id, kind));
            }
            string EndRecord(string content)
            {
                var bytes = Encoding.UTF8.GetBytes(content);
                var record = new byte[QueueEnvelope.EndRecordMaxLength];
                return Encoding.ASCII.GetString(record, 0, QueueEnvelope.WriteEndRecord(record, bytes.Length, Crc32C.Compute(bytes)));
            }
            var whole = Encoding.UTF8.GetBytes(Env("X").Serialize() + "Subject: x\n\nbody\n" + QueueEnvelope.EndMarker);
            Put("truncated", whole[..^5]);
            Put("garbage", Enumerable.Range(0, 3000).Select(i => (byte)(i * 7919 % 251)).ToArray());
            Put("empty", []);
            Put("bad magic", Encoding.UTF8.GetBytes("NOT-A-QUEUE 9\nid: x\n\nbody" + QueueEnvelope.EndMarker));
            Put("no recipients", Encoding.UTF8.GetBytes(QueueEnvelope.Magic + "\nid: y\nsender: a@b\n\nbody" + QueueEnvelope.EndMarker));
            // A complete file naming another queue id: a reused queue file not yet rewritten at a crash.
            Put("holds another id", Encoding.UTF8.GetBytes(Env("0123456789A").Serialize() + "Subject: old\n\nbody\n" + QueueEnvelope.EndMarker));
            // Torn at a crash: the new envelope and end record were written, the blocks between still hold
            // the message the reused file held before (same length, other bytes).
            PutFor("torn (blocks of another message)", id => Encoding.UTF8.GetBytes(
                Env(id).Serialize() + "Subject: old\n\nbody\n" + EndRecord("Subject: new\n\nbody\n")));
            PutFor("size differs from its end record", id => Encoding.UTF8.GetBytes(
                Env(id).Serialize() + "Subject: good\n\nbody\n" + EndRecord("Subject: good\n\nbody!\n")));
            Put("envelope never ends", Encoding.UTF8.GetBytes(QueueEnvelope.Magic + "\nid: z\nsender: a@b\nrcpt: alice@example.test\n" + new string('h', 100)));
            Thread.Sleep(2);
            // Intact files: one with its checksum, one written by an earlier version (bare end marker).
            File.WriteAllText(Path.Combine(messages, good), Env(good).Serialize() + "Subject: good\n\nbody\n" + EndRecord("Subject: good\n\nbody\n"));
            Thread.Sleep(2);
            var legacy = QueueId.Next();
            File.WriteAllText(Path.Combine(messages, legacy), Env(legacy).Serialize() + "Subject: legacy\n\nbody\n" + QueueEnvelope.EndMarker);
        });
        foreach (var (id, kind) in ids)
            await server.WaitForLogAsync($"{id}: queue file is corrupt", $"moved to queue/corrupt/{id}");
        foreach (var (id, kind) in ids)
        {
            var corrupt = Path.Combine(server.Directory, "data", "queue", "corrupt", id);
            Assert.True(File.Exists(corrupt), kind + " not quarantined");
            Assert.False(File.Exists(Path.Combine(server.Directory, "data", "queue", "messages", id)), kind + " left in messages/");
        }
        // The intact files next to them are delivered (and nothing else), and the server serves.
        var files = await server.WaitForMailAsync("example.test", "alice", 2);
        await Task.Delay(300);
        files = Directory.GetFiles(server.MaildirNew("example.test", "alice"));
        Assert.Equal(["good", "legacy"], files.Select(Hostile.SubjectOf).Order().ToArray());
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }
}
