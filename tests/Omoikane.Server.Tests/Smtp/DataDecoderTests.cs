using System.Text;
using Omoikane.Server.Smtp;

namespace Omoikane.Server.Tests.Smtp;

/// <summary>The DATA decoder, fed whole and one byte at a time: only CRLF.CRLF ends the data.</summary>
public sealed class DataDecoderTests
{
    public static TheoryData<string, string, bool, bool> Cases => new()
    {
        // input (after DATA), stored content, saw bare LF, saw bare CR
        { "a\r\nb\r\n.\r\n", "a\nb\n", false, false },
        { ".\r\n", "", false, false },
        { "..x\r\n.\r\n", ".x\n", false, false },
        { "a\nb\n.\r\n.\r\n", "a\nb\n", true, false },          // "." after a bare-LF line: dropped, not the end
        { "a\nb\r\n.\r\n", "a\nb\n", true, false },
        { "a\n..x\r\n.\r\n", "a\n.x\n", true, false },             // dot-stuffing undone after a bare LF too
        { "a\r\n.\nb\r\n.\r\n", "a\nb\n", true, false },           // "." ended by a bare LF: dropped
        { "a\r.\rb\r\n.\r\n", "a\r.\rb\n", false, true },          // bare CR is never a line end
        { "a\r\n.\rb\r\n.\r\n", "a\n\rb\n", false, true },
        { "a\r\n.\r\r\n.\r\n", "a\n\r\n", false, true },
        { "a\r\r\n.\r\n", "a\r\n", false, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodesWhole(string input, string expected, bool bareLf, bool bareCr)
    {
        var d = new DataDecoder();
        var bytes = Encoding.ASCII.GetBytes(input + "NEXT");
        var output = new byte[bytes.Length + 2];
        var used = d.Decode(bytes, output, out var written, out _);
        Assert.True(d.IsDone);
        Assert.Equal("NEXT", Encoding.ASCII.GetString(bytes, used, bytes.Length - used));
        Assert.Equal(expected, Encoding.ASCII.GetString(output, 0, written));
        Assert.Equal(bareLf, d.SawBareLf);
        Assert.Equal(bareCr, d.SawBareCr);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodesOneByteAtATime(string input, string expected, bool bareLf, bool bareCr)
    {
        var d = new DataDecoder();
        var sb = new StringBuilder();
        var output = new byte[3];
        var bytes = Encoding.ASCII.GetBytes(input);
        for (int i = 0; i < bytes.Length; i++)
        {
            Assert.False(d.IsDone, $"ended early at {i}");
            var used = d.Decode(bytes.AsSpan(i, 1), output, out var written, out _);
            Assert.Equal(1, used);
            sb.Append(Encoding.ASCII.GetString(output, 0, written));
        }
        Assert.True(d.IsDone);
        Assert.Equal(expected, sb.ToString());
        Assert.Equal(bareLf, d.SawBareLf);
        Assert.Equal(bareCr, d.SawBareCr);
    }

    /// <summary>Smuggling look-alikes: none of them ends the data.</summary>
    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\r.\r")]
    [InlineData("\n.\r\n")]
    [InlineData("\r\n.\n")]
    [InlineData("\r\n.\r")]
    [InlineData("\r.\r\n")]
    [InlineData("\n\r.\r\n")]
    [InlineData("\r\n.\r\r\n")]
    [InlineData("\r\n.\n\r\n")]
    public void SmuggledEndsEndNothing(string sequence)
    {
        var d = new DataDecoder();
        var bytes = Encoding.ASCII.GetBytes("x" + sequence + "MAIL FROM:<a@b>\r\n");
        var output = new byte[bytes.Length + 2];
        Assert.Equal(bytes.Length, d.Decode(bytes, output, out _, out _));
        Assert.False(d.IsDone);
    }
}
