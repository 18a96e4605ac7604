namespace Omoikane.Mail.Queue;

/// <summary>
/// A write-only stream that passes writes through, keeps a copy of the first bytes (up to a limit) and
/// the CRC-32C of all of them (computed on the bytes in hand: no second pass over the data).
/// </summary>
internal sealed class CopyingStream(Stream inner, int limit) : Stream
{
    private MemoryStream? _copy = new();
    private long _length;
    private uint _crc = Crc32C.Initial;

    /// <summary>CRC-32C of the bytes written so far.</summary>
    public uint Crc => Crc32C.Finish(_crc);

    /// <summary>The bytes written, or null when they exceeded the limit.</summary>
    public ReadOnlyMemory<byte>? Copy => _copy is null ? (ReadOnlyMemory<byte>?)null : _copy.GetBuffer().AsMemory(0, (int)_copy.Length);

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    private void Keep(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        _crc = Crc32C.Append(_crc, data);
        if (_copy is null) return;
        if (_copy.Length + data.Length > limit) { _copy = null; return; }
        _copy.Write(data);
    }

    public override void Write(byte[] buffer, int offset, int count) { Keep(buffer.AsSpan(offset, count)); inner.Write(buffer, offset, count); }
    public override void Write(ReadOnlySpan<byte> buffer) { Keep(buffer); inner.Write(buffer); }
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
