using Omoikane.Mail.RelayTest;

namespace Omoikane.Mail.Tests.RelayTest;

public sealed class RelayTestEndpointTests
{
    [Theory]
    [InlineData("mail.example.org", "mail.example.org", 25)]
    [InlineData("mail.example.org:2525", "mail.example.org", 2525)]
    [InlineData("192.0.2.25", "192.0.2.25", 25)]
    [InlineData("192.0.2.25:587", "192.0.2.25", 587)]
    [InlineData("[2001:db8::25]:2525", "2001:db8::25", 2525)]
    [InlineData("[2001:db8::25]", "2001:db8::25", 25)]
    [InlineData("2001:db8::25", "2001:db8::25", 25)]
    public void ParsesHostAndPort(string text, string host, int port)
    {
        Assert.True(RelayTestEndpoint.TryParse(text, 25, out var e));
        Assert.Equal(new RelayTestEndpoint(host, port), e);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:25x")]
    [InlineData(":25")]
    [InlineData("[2001:db8::25")]
    [InlineData("[not-an-ip]:25")]
    [InlineData("2001:db8::zz")]
    [InlineData("bad host")]
    public void RejectsMalformedTargets(string text) => Assert.False(RelayTestEndpoint.TryParse(text, 25, out _));
}
