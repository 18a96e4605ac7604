namespace Omoikane.Mail.Queue;

/// <summary>A write-only stream that passes writes through and keeps a copy of the first bytes (up to a limit).</summary>
internal sealed class CopyingStream(Stream inner, int limit) : Stream
{
    private MemoryStream? _copy = new();
    private long _length;

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
