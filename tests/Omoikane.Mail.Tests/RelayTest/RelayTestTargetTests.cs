using System.Net;
using Omoikane.Mail.RelayTest;

namespace Omoikane.Mail.Tests.RelayTest;

public sealed class RelayTestTargetTests
{
    private static RelayTestTarget Create(string host, string address, string? greeting) =>
        RelayTestTarget.Create(host, IPAddress.Parse(address), greeting, "s@x.example", "example.com", IPAddress.Parse("192.0.2.1"));

    [Fact]
    public void HostNameGivenIsUsedAndItsParentIsTheDomain()
    {
        var t = Create("mail.example.org", "192.0.2.25", "220 other.example.net ESMTP");
        Assert.Equal(("mail.example.org", "example.org", "[192.0.2.25]"), (t.HostName, t.Domain, t.AddressLiteral));
    }

    [Fact]
    public void AddressGivenTakesTheNameFromTheGreeting()
    {
        var t = Create("192.0.2.25", "192.0.2.25", "220 mx1.example.org ESMTP Postfix");
        Assert.Equal(("mx1.example.org", "example.org"), (t.HostName, t.Domain));
    }

    [Theory]
    [InlineData("220 ESMTP ready")]
    [InlineData("220 192.0.2.25 ESMTP")]
    [InlineData(null)]
    public void WithoutANameTheAddressLiteralStandsIn(string? greeting)
    {
        var t = Create("192.0.2.25", "192.0.2.25", greeting);
        Assert.Equal(("[192.0.2.25]", "[192.0.2.25]"), (t.HostName, t.Domain));
    }

    [Fact]
    public void TwoLabelNameIsItsOwnDomain() => Assert.Equal("example.org", Create("example.org", "192.0.2.25", null).Domain);

    [Fact]
    public void IPv6AddressLiteralsUseTheTag()
    {
        // RFC 5321 §4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr
        Assert.Equal("[IPv6:2001:db8::25]", Create("2001:db8::25", "2001:db8::25", null).AddressLiteral);
        Assert.Equal("[192.0.2.25]", RelayTestTarget.Literal(IPAddress.Parse("::ffff:192.0.2.25")));
    }
}
