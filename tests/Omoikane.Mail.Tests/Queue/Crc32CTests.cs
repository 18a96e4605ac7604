using System.Text;
using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Tests.Queue;

public sealed class Crc32CTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("123456789", 0xE3069283u)]                           // the CRC-32C check value
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void KnownValues(string text, uint expected) => Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void ComputedInPiecesOfAnyLengthItIsTheSame()
    {
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 31 + 7)).ToArray();
        var whole = Crc32C.Compute(data);
        foreach (var step in new[] { 1, 3, 7, 8, 9, 64, 999 })
        {
            var crc = Crc32C.Initial;
            for (int i = 0; i < data.Length; i += step) crc = Crc32C.Append(crc, data.AsSpan(i, Math.Min(step, data.Length - i)));
            Assert.Equal(whole, Crc32C.Finish(crc));
        }
    }
}
