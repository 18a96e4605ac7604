using System.Text;

namespace Omoikane.TestSupport.Dns;

/// <summary>Builds a DNS message in wire format, compressing names (RFC 1035 §4.1.4).</summary>
internal sealed class DnsMessageWriter
{
    private byte[] _buffer = new byte[512];
    private readonly Dictionary<string, int> _names = new(StringComparer.OrdinalIgnoreCase);

    public int Length { get; private set; }

    public void Write8(byte value)
    {
        Ensure(1);
        _buffer[Length++] = value;
    }

    public void Write16(int value)
    {
        Ensure(2);
        _buffer[Length++] = (byte)(value >> 8);
        _buffer[Length++] = (byte)value;
    }

    public void Write32(uint value)
    {
        Write16((int)(value >> 16));
        Write16((int)(value & 0xFFFF));
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(Length));
        Length += bytes.Length;
    }

    public void Patch16(int at, int value)
    {
        _buffer[at] = (byte)(value >> 8);
        _buffer[at + 1] = (byte)value;
    }

    /// <summary>Writes a name given as text ("" or "." is the root).</summary>
    public void WriteName(string name) => WriteName(SplitName(name));

    /// <summary>
    /// Writes labels, replacing the longest suffix already written by a pointer; every new suffix that
    /// starts within the first 16 KiB is remembered as a pointer target (RFC 1035 §4.1.4).
    /// </summary>
    public void WriteName(IReadOnlyList<string> labels)
    {
        for (int i = 0; i < labels.Count; i++)
        {
            var suffix = string.Join('.', labels.Skip(i));
            if (_names.TryGetValue(suffix, out int offset))
            {
                Write16(0xC000 | offset);
                return;
            }
            if (Length < 0x3FFF) _names[suffix] = Length;
            var bytes = Encoding.Latin1.GetBytes(labels[i]);
            Write8((byte)bytes.Length);
            WriteBytes(bytes);
        }
        Write8(0);
    }

    public byte[] ToArray() => _buffer.AsSpan(0, Length).ToArray();

    public static IReadOnlyList<string> SplitName(string name)
    {
        name = name.Trim().TrimEnd('.');
        return name.Length == 0 ? [] : name.Split('.');
    }

    private void Ensure(int extra)
    {
        if (Length + extra <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + extra));
    }
}
