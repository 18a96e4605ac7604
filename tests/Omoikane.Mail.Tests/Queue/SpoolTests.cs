using System.Text;
using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Tests.Queue;

/// <summary>Queue files on disk: what a commit leaves behind is exactly the message, also in a reused file.</summary>
public sealed class SpoolTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omoikane-spool-").FullName;
    private readonly GroupCommit _commit = new();
    private readonly Spool _spool;

    public SpoolTests()
    {
        _spool = new Spool(_dir, _commit);
        _spool.EnsureDirectories();
    }

    public async ValueTask DisposeAsync()
    {
        await _commit.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<string> WriteAsync(string content)
    {
        var id = QueueId.Next();
        var env = new QueueEnvelope
        {
            QueueId = id, Arrival = DateTimeOffset.UtcNow, Sender = "a@example.org",
            Recipients = [new QueueRecipient("b@example.org")],
        };
        await using var writer = _spool.Create(id, env);
        await writer.Content.WriteAsync(Encoding.ASCII.GetBytes(content));
        await writer.CommitAsync();
        return id;
    }

    private string Read(string id)
    {
        var file = _spool.Open(id, out var error);
        Assert.True(file is not null, error);
        using var fs = File.OpenRead(file!.Path);
        fs.Seek(file.ContentOffset, SeekOrigin.Begin);
        var buf = new byte[file.ContentLength];
        fs.ReadExactly(buf);
        return Encoding.ASCII.GetString(buf);
    }

    [Fact]
    public async Task AReusedFileHoldsOnlyTheNewMessage()
    {
        var big = "Subject: big\n\n" + new string('x', 100_000) + "\n";
        var first = await WriteAsync(big);
        Assert.Equal(big, Read(first));
        var bigLength = new FileInfo(_spool.MessagePath(first)).Length;
        _spool.Remove(first, hasState: false);
        Assert.False(File.Exists(_spool.MessagePath(first)));
        Assert.Single(Directory.GetFiles(_spool.FreeDir));

        // The next message is written into the freed file (no new file), and the old tail is gone.
        var small = "Subject: small\n\nhi\n";
        var second = await WriteAsync(small);
        Assert.Empty(Directory.GetFiles(_spool.FreeDir));
        Assert.Empty(Directory.GetFiles(_spool.IncomingDir));
        Assert.Equal(small, Read(second));
        Assert.True(new FileInfo(_spool.MessagePath(second)).Length < bigLength);
    }

    [Fact]
    public async Task AnAbortedMessageLeavesNothingInTheQueue()
    {
        var id = QueueId.Next();
        var env = new QueueEnvelope
        {
            QueueId = id, Arrival = DateTimeOffset.UtcNow, Sender = "", Recipients = [new QueueRecipient("b@example.org")],
        };
        await using (var writer = _spool.Create(id, env))
        {
            await writer.Content.WriteAsync("Subject: x\n\n"u8.ToArray());
            writer.Abort();
        }
        Assert.Empty(Directory.GetFiles(_spool.MessagesDir));
        Assert.Empty(Directory.GetFiles(_spool.IncomingDir));
        Assert.Empty(_spool.ListIds());
    }

    [Fact]
    public async Task TheEndRecordCarriesTheContentSizeAndChecksum()
    {
        var content = "Subject: sum\n\n" + new string('y', 3_000_000) + "\n";   // past the part read with the envelope
        var id = await WriteAsync(content);
        var tail = File.ReadAllText(_spool.MessagePath(id))[^64..];
        var crc = Crc32C.Compute(Encoding.ASCII.GetBytes(content));
        Assert.EndsWith($"\n.OMOIKANE-END size={content.Length} crc32c={crc:x8}\n", tail);
        Assert.Equal(content, Read(id));
    }

    [Fact]
    public async Task ATornFileIsRefusedAndAnEarlierVersionsFileIsRead()
    {
        var id = await WriteAsync("Subject: new\n\nnew body\n");
        var path = _spool.MessagePath(id);
        var bytes = File.ReadAllBytes(path);
        // Blocks of an older message of the same length between the new envelope and end record.
        var at = Encoding.ASCII.GetString(bytes).IndexOf("new body", StringComparison.Ordinal);
        Encoding.ASCII.GetBytes("old body").CopyTo(bytes, at);
        File.WriteAllBytes(path, bytes);
        Assert.Null(_spool.Open(id, out var error));
        Assert.Contains("checksum mismatch", error);

        // A length that does not match its end record.
        var text = Encoding.ASCII.GetString(bytes).Replace("old body", "old body, longer");
        File.WriteAllText(path, text);
        Assert.Null(_spool.Open(id, out error));
        Assert.Contains("its end record says", error);

        // Written before end records carried a checksum: the bare end marker.
        var legacy = text[..text.IndexOf("\n.OMOIKANE-END ", StringComparison.Ordinal)] + QueueEnvelope.EndMarker;
        File.WriteAllText(path, legacy);
        Assert.Equal("Subject: new\n\nold body, longer\n", Read(id));
    }
}
