using System.Net;
using Omoikane.Mail.Dns;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Dns;

public sealed class ReverseDomainNameTests
{
    [Fact]
    public void IPv4LabelsAreReversedOctets()
    {
        Assert.Equal("4.3.2.1", ReverseDomainName.Labels(IPAddress.Parse("1.2.3.4")));
        Assert.Equal("2.0.0.127.zen.example.test", ReverseDomainName.InZone(IPAddress.Parse("127.0.0.2"), "zen.example.test."));
        Assert.Equal("25.2.0.192.in-addr.arpa", ReverseDomainName.Arpa(IPAddress.Parse("192.0.2.25")));
    }

    [Fact]
    public void IPv6LabelsAreReversedNibbles()
    {
        // RFC 5782 §2.4 example address.
        Assert.Equal("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4",
            ReverseDomainName.Labels(IPAddress.Parse("4321:0:1:2:3:4:567:89ab")));
        Assert.EndsWith(".ip6.arpa", ReverseDomainName.Arpa(IPAddress.IPv6Loopback));
        Assert.StartsWith("1.0.0.0.", ReverseDomainName.Arpa(IPAddress.IPv6Loopback));
    }

    [Fact]
    public void MappedIPv4IsReversedAsIPv4()
        => Assert.Equal("9.2.0.192.in-addr.arpa", ReverseDomainName.Arpa(IPAddress.Parse("::ffff:192.0.2.9")));

    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("2001:db8::abcd:1")]
    [InlineData("::1")]
    public void AgreesWithTheTestServersIndependentFormula(string address)
        => Assert.Equal(LoopbackDnsServer.ArpaName(IPAddress.Parse(address)), ReverseDomainName.Arpa(IPAddress.Parse(address)));
}
