using System.IO.Pipelines;
using System.Text;
using Omoikane.Server.Pop3;

namespace Omoikane.Server.Tests.Pop3;

public sealed class Pop3MessageWriterTests
{
    /// <summary>A reference conversion, line by line on strings: what RFC 1939 §3 asks for.</summary>
    private static string Expected(string message, long bodyLines)
    {
        if (message.Length == 0) return ".\r\n";
        var lines = message.Replace("\r\n", "\n").Split('\n').ToList();
        if (message.EndsWith('\n')) lines.RemoveAt(lines.Count - 1);
        var sb = new StringBuilder();
        bool header = true;
        long body = 0;
        foreach (var line in lines)
        {
            if (!header && bodyLines >= 0 && body >= bodyLines) break;
            sb.Append(line.StartsWith('.') ? "." + line : line).Append("\r\n");
            if (header) { if (line.Length == 0) header = false; }
            else body++;
        }
        return sb.Append(".\r\n").ToString();
    }

    private static async Task<string> ConvertAsync(string message, long bodyLines, bool oneByteAtATime)
    {
        var pipe = new Pipe();
        Stream source = new MemoryStream(Encoding.UTF8.GetBytes(message));
        if (oneByteAtATime) source = new TrickleStream(source);
        var written = await Pop3MessageWriter.WriteAsync(source, pipe.Writer, bodyLines, CancellationToken.None);
        await pipe.Writer.FlushAsync();
        await pipe.Writer.CompleteAsync();
        using var output = new MemoryStream();
        await pipe.Reader.CopyToAsync(output);
        Assert.Equal(output.Length, written);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    public static TheoryData<string> Messages => new()
    {
        "",
        "Subject: a\n\nbody\n",
        "Subject: a\n\n.\n..\n.x\nx.\n",
        ".starts with a dot\n\n.",
        "Subject: crlf\r\n\r\nalready CRLF\r\nmixed\n",
        "no final newline",
        "Subject: only headers\n",
        "H: 1\n\n\n\nthree blank lines above\n",
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task RetrConvertsLineEndingsAndStuffsDots(string message)
    {
        Assert.Equal(Expected(message, -1), await ConvertAsync(message, -1, oneByteAtATime: false));
        Assert.Equal(Expected(message, -1), await ConvertAsync(message, -1, oneByteAtATime: true));
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task TopStopsAfterTheRequestedBodyLines(string message)
    {
        foreach (var n in new long[] { 0, 1, 2, 5 })
        {
            Assert.Equal(Expected(message, n), await ConvertAsync(message, n, oneByteAtATime: false));
            Assert.Equal(Expected(message, n), await ConvertAsync(message, n, oneByteAtATime: true));
        }
    }

    [Fact]
    public async Task SizeFromTheNameMatchesTheBytesSent()
    {
        var message = string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i}{(i % 7 == 0 ? "\n." : "")}\n"));
        var bytes = Encoding.UTF8.GetByteCount(message);
        long crlfSize = bytes + message.Count(c => c == '\n');
        var sent = await ConvertAsync(message, -1, oneByteAtATime: false);
        // The wire form less the dot-stuffing and the terminator is the CRLF size the name reports.
        var unstuffed = sent[..^3].Replace("\r\n..", "\r\n.");
        Assert.Equal(crlfSize, Encoding.UTF8.GetByteCount(unstuffed));
    }

    /// <summary>Returns at most one byte per read, to cross every chunk boundary.</summary>
    private sealed class TrickleStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => inner.ReadAsync(buffer[..Math.Min(buffer.Length, 1)], ct);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
