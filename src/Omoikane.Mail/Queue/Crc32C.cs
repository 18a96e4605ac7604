using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Omoikane.Mail.Queue;

/// <summary>
/// CRC-32C (Castagnoli, RFC 3720 §12.1) over data as it passes: the CPU's crc32 instruction through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>, eight bytes a step.
/// </summary>
public static class Crc32C
{
    /// <summary>The running value before any data.</summary>
    public const uint Initial = 0xFFFFFFFF;

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var words = data.Length / 8;
        if (words > 0)
        {
            if (BitConverter.IsLittleEndian)
                foreach (var w in MemoryMarshal.Cast<byte, ulong>(data[..(words * 8)])) crc = BitOperations.Crc32C(crc, w);
            else
                for (int i = 0; i < words; i++) crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[(i * 8)..]));
        }
        foreach (var b in data[(words * 8)..]) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }

    /// <summary>The checksum of everything appended.</summary>
    public static uint Finish(uint crc) => ~crc;

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));
}
