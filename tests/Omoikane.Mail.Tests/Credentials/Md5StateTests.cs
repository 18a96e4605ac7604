using System.Security.Cryptography;
using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public class Md5StateTests
{
    // RFC 1321 Appendix A.5 test suite.
    [Theory]
    [InlineData("", "d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("a", "0cc175b9c0f1b6a831c399e269772661")]
    [InlineData("abc", "900150983cd24fb0d6963f7d28e17f72")]
    [InlineData("message digest", "f96b697d7cb7938d525a2f31aaf161d0")]
    [InlineData("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f")]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a")]
    public void HashMatchesRfc1321TestSuite(string input, string expected)
    {
        var digest = new byte[16];
        Md5State.Hash(Encoding.ASCII.GetBytes(input), digest);
        Assert.Equal(expected, Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void HashMatchesPlatformMd5AtEveryPaddingBoundary()
    {
        var data = new byte[200];
        new Random(1321).NextBytes(data);
        var digest = new byte[16];
        for (int n = 0; n <= data.Length; n++)
        {
            Md5State.Hash(data.AsSpan(0, n), digest);
            Assert.Equal(MD5.HashData(data.AsSpan(0, n)), digest);
        }
    }

    [Fact]
    public void StateExportedAfterABlockResumesToTheSameDigest()
    {
        var data = Encoding.ASCII.GetBytes(new string('x', 64) + "tail of the message");
        var s = Md5State.Initial;
        s.Blocks(data.AsSpan(0, 64));
        var words = new byte[16];
        s.WriteWords(words);
        var digest = new byte[16];
        Md5State.FromWords(words, 64).Final(data.AsSpan(64), digest);
        Assert.Equal(MD5.HashData(data), digest);
    }

    [Fact]
    public void BlocksRejectsPartialBlock()
    {
        var s = Md5State.Initial;
        Assert.Throws<ArgumentException>(() => s.Blocks(new byte[63]));
    }
}
