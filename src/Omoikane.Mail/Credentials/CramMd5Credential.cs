using System.Security.Cryptography;
using System.Text;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// The CRAM-MD5 secret in its least revealing form: the HMAC-MD5 (RFC 2104) key's two intermediate MD5
/// states, after the ipad block and after the opad block (RFC 2195 §2, as Cyrus and Dovecot's CRAM-MD5
/// scheme keep them). They are not the password, but they are password-equivalent for CRAM-MD5 itself:
/// whoever holds them can answer any CRAM-MD5 challenge for this user.
/// </summary>
public sealed class CramMd5Credential
{
    public const int StateSize = 16;

    private readonly byte[] _inner;
    private readonly byte[] _outer;

    /// <param name="inner">The 16-byte MD5 state after (key XOR ipad), four little-endian words.</param>
    /// <param name="outer">The 16-byte MD5 state after (key XOR opad).</param>
    public CramMd5Credential(ReadOnlySpan<byte> inner, ReadOnlySpan<byte> outer)
    {
        if (inner.Length != StateSize || outer.Length != StateSize)
            throw new ArgumentException("CRAM-MD5 contexts are two 16-byte MD5 states.");
        _inner = inner.ToArray();
        _outer = outer.ToArray();
    }

    public ReadOnlySpan<byte> Inner => _inner;
    public ReadOnlySpan<byte> Outer => _outer;

    /// <summary>Computes the two contexts from a password (its UTF-8 bytes are the HMAC key; RFC 2195 uses no SASLprep).</summary>
    public static CramMd5Credential Derive(string password)
    {
        // RFC 2104 §2: a key longer than the block is first hashed; the key is then zero-padded to 64 bytes.
        var raw = Encoding.UTF8.GetBytes(password);
        Span<byte> key = stackalloc byte[Md5State.BlockSize];
        key.Clear();
        if (raw.Length > Md5State.BlockSize) Md5State.Hash(raw, key);
        else raw.CopyTo(key);
        CryptographicOperations.ZeroMemory(raw);

        Span<byte> block = stackalloc byte[Md5State.BlockSize];
        Span<byte> inner = stackalloc byte[StateSize];
        Span<byte> outer = stackalloc byte[StateSize];
        for (int i = 0; i < block.Length; i++) block[i] = (byte)(key[i] ^ 0x36);   // ipad
        var s = Md5State.Initial;
        s.Blocks(block);
        s.WriteWords(inner);
        for (int i = 0; i < block.Length; i++) block[i] = (byte)(key[i] ^ 0x5c);   // opad
        s = Md5State.Initial;
        s.Blocks(block);
        s.WriteWords(outer);
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(block);
        return new CramMd5Credential(inner, outer);
    }

    /// <summary>HMAC-MD5(secret, challenge), resumed from the stored contexts (RFC 2104 §2).</summary>
    public byte[] ComputeDigest(ReadOnlySpan<byte> challenge)
    {
        var digest = new byte[StateSize];
        Md5State.FromWords(_inner, Md5State.BlockSize).Final(challenge, digest);
        Md5State.FromWords(_outer, Md5State.BlockSize).Final(digest, digest);
        return digest;
    }

    /// <summary>Constant-time check of a response digest (RFC 2195 §2: the 16 bytes the client sent as hex).</summary>
    public bool Verify(ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> digest)
        => digest.Length == StateSize && CryptographicOperations.FixedTimeEquals(ComputeDigest(challenge), digest);
}
