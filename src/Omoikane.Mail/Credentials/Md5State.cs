using System.Buffers.Binary;
using System.Numerics;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// The MD5 compression function (RFC 1321 §3.4) with an exportable chaining state. .NET's MD5 cannot
/// stop after a block and hand out its state, which CRAM-MD5's stored HMAC contexts need (RFC 2195 §2:
/// the server may keep "the intermediate results of the MD5 hash" instead of the secret). Not a general
/// hasher: it is used only to compute and resume the HMAC-MD5 ipad/opad states.
/// </summary>
internal struct Md5State
{
    public const int BlockSize = 64;

    // RFC 1321 §3.3: the initial chaining value A, B, C, D.
    public uint A, B, C, D;

    /// <summary>How many bytes have been compressed into this state (a multiple of 64).</summary>
    public ulong Length;

    public static Md5State Initial => new() { A = 0x67452301, B = 0xefcdab89, C = 0x98badcfe, D = 0x10325476 };

    /// <summary>A state after <paramref name="length"/> bytes, from its four words (e.g. a stored HMAC context).</summary>
    public static Md5State FromWords(ReadOnlySpan<byte> words16, ulong length) => new()
    {
        A = BinaryPrimitives.ReadUInt32LittleEndian(words16),
        B = BinaryPrimitives.ReadUInt32LittleEndian(words16[4..]),
        C = BinaryPrimitives.ReadUInt32LittleEndian(words16[8..]),
        D = BinaryPrimitives.ReadUInt32LittleEndian(words16[12..]),
        Length = length,
    };

    /// <summary>The four words, little-endian (RFC 1321 §3.5: this is also the digest of a finished state).</summary>
    public readonly void WriteWords(Span<byte> destination16)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination16, A);
        BinaryPrimitives.WriteUInt32LittleEndian(destination16[4..], B);
        BinaryPrimitives.WriteUInt32LittleEndian(destination16[8..], C);
        BinaryPrimitives.WriteUInt32LittleEndian(destination16[12..], D);
    }

    /// <summary>Compresses whole 64-byte blocks.</summary>
    public void Blocks(ReadOnlySpan<byte> data)
    {
        if (data.Length % BlockSize != 0) throw new ArgumentException("MD5 blocks are 64 bytes.", nameof(data));
        Span<uint> x = stackalloc uint[16];
        for (int off = 0; off < data.Length; off += BlockSize)
        {
            for (int i = 0; i < 16; i++) x[i] = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(off + 4 * i));
            Compress(x);
            Length += BlockSize;
        }
    }

    /// <summary>Appends the final bytes with RFC 1321 §3.1-3.2 padding and writes the 16-byte digest.</summary>
    public readonly void Final(ReadOnlySpan<byte> tail, Span<byte> digest16)
    {
        var s = this;
        int whole = tail.Length - tail.Length % BlockSize;
        s.Blocks(tail[..whole]);
        tail = tail[whole..];
        ulong bits = (s.Length + (ulong)tail.Length) * 8;
        // §3.1: a 1 bit, zeros to 56 mod 64; §3.2: the length in bits, little-endian.
        Span<byte> pad = stackalloc byte[2 * BlockSize];
        pad.Clear();
        tail.CopyTo(pad);
        pad[tail.Length] = 0x80;
        int total = tail.Length + 1 + 8 <= BlockSize ? BlockSize : 2 * BlockSize;
        BinaryPrimitives.WriteUInt64LittleEndian(pad.Slice(total - 8), bits);
        s.Blocks(pad[..total]);
        s.WriteWords(digest16);
    }

    /// <summary>MD5 of a whole message, from the initial state.</summary>
    public static void Hash(ReadOnlySpan<byte> message, Span<byte> digest16) => Initial.Final(message, digest16);

    // RFC 1321 §3.4: four rounds of sixteen operations; T[i] = floor(2^32 * abs(sin(i+1))).
    private static ReadOnlySpan<uint> T =>
    [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
    ];

    private static ReadOnlySpan<byte> Shift => [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

    private void Compress(ReadOnlySpan<uint> x)
    {
        uint a = A, b = B, c = C, d = D;
        for (int i = 0; i < 64; i++)
        {
            uint f;
            int k, round = i >> 4;
            switch (round)
            {
                case 0: f = (b & c) | (~b & d); k = i; break;                 // F(X,Y,Z)
                case 1: f = (b & d) | (c & ~d); k = (5 * i + 1) & 15; break;  // G(X,Y,Z)
                case 2: f = b ^ c ^ d; k = (3 * i + 5) & 15; break;           // H(X,Y,Z)
                default: f = c ^ (b | ~d); k = (7 * i) & 15; break;           // I(X,Y,Z)
            }
            uint next = b + BitOperations.RotateLeft(a + f + x[k] + T[i], Shift[round * 4 + (i & 3)]);
            a = d; d = c; c = b; b = next;
        }
        A += a; B += b; C += c; D += d;
    }
}
