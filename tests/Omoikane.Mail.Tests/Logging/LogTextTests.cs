using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Tests.Logging;

public sealed class LogTextTests
{
    [Theory]
    [InlineData("connect from unknown[127.0.0.1]", "connect from unknown[127.0.0.1]")]
    [InlineData("a\r\nb\0c\td", "a??b?c?d")]
    [InlineData("\x1b[31mred\x1b[0m\x7f", "?[31mred?[0m?")]
    [InlineData("csi\u009b2J", "csi?2J")]                  // C1 control
    [InlineData("bad\uFFFDutf8", "bad?utf8")]              // what was not valid UTF-8
    [InlineData("rtl\u202Eevil\u2028x", "rtl?evil?x")]    // bidi override, line separator
    [InlineData("j\u00f6rg@b\u00fccher.example \U0001F600", "j\u00f6rg@b\u00fccher.example \U0001F600")]
    public void PrintableReplacesWhatIsNotPrintableByQuestionMarks(string input, string expected)
        => Assert.Equal(expected, LogText.Printable(input));

    [Fact]
    public void PrintableReplacesAnUnpairedSurrogate()
        => Assert.Equal("lone?x?", LogText.Printable("lone" + '\uD800' + "x" + '\uDC00'));

    [Theory]
    [InlineData("alice@example.test", "alice@example.test")]
    [InlineData("x>, rip=192.0.2.66", "x???rip=192.0.2.66")]
    [InlineData("<a\r\nb>", "?a??b?")]
    [InlineData(null, "")]
    public void DovecotFieldCannotCloseItsFieldOrStartAnother(string? input, string expected)
        => Assert.Equal(expected, LogText.DovecotField(input));

    [Fact]
    public void DovecotFieldIsCutAtEightyCharactersAsDovecotDoes()
        => Assert.Equal(new string('a', 80) + "...", LogText.DovecotField(new string('a', 200)));
}
