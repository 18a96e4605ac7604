using System.Buffers;

namespace Omoikane.Mail.Queue;

/// <summary>
/// A write-only buffer in front of a queue file whose 64 KiB come from the shared array pool: a
/// BufferedStream allocates (and the runtime zeroes) a fresh buffer for every message. Reads and seeks
/// are not supported; disposing returns the buffer without writing what is still in it.
/// </summary>
internal sealed class PooledWriteBuffer(FileStream file) : Stream
{
    private const int Size = 64 * 1024;
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(Size);
    private int _used;

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledWriteBuffer));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        var buf = Buffer;
        if (_used + data.Length > buf.Length)
        {
            FlushBuffer();
            if (data.Length >= buf.Length) { file.Write(data); return; }
        }
        data.CopyTo(buf.AsSpan(_used));
        _used += data.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
        => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        var buf = Buffer;
        if (_used + data.Length > buf.Length)
        {
            if (_used > 0)
            {
                await file.WriteAsync(buf.AsMemory(0, _used), ct).ConfigureAwait(false);
                _used = 0;
            }
            if (data.Length >= buf.Length) { await file.WriteAsync(data, ct).ConfigureAwait(false); return; }
        }
        data.Span.CopyTo(buf.AsSpan(_used));
        _used += data.Length;
    }

    /// <summary>Writes what is buffered to the file (no fsync).</summary>
    public override void Flush() => FlushBuffer();

    public override async Task FlushAsync(CancellationToken ct)
    {
        if (_used == 0) return;
        await file.WriteAsync(Buffer.AsMemory(0, _used), ct).ConfigureAwait(false);
        _used = 0;
    }

    private void FlushBuffer()
    {
        if (_used == 0) return;
        file.Write(Buffer, 0, _used);
        _used = 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _buffer, null) is { } buf) ArrayPool<byte>.Shared.Return(buf);
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => _buffer is not null;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
