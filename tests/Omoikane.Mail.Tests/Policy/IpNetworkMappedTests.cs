using System.Net;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Tests.Policy;

/// <summary>IPv4-mapped networks (mynetworks, cidr tables) match IPv4 clients and mapped clients alike.</summary>
public sealed class IpNetworkMappedTests
{
    [Theory]
    [InlineData("[::ffff:127.0.0.0]/104", "127.0.0.1", true)]
    [InlineData("[::ffff:127.0.0.0]/104", "::ffff:127.9.9.9", true)]
    [InlineData("[::ffff:127.0.0.0]/104", "10.0.0.1", false)]
    [InlineData("::ffff:192.0.2.1", "192.0.2.1", true)]
    [InlineData("127.0.0.0/8", "::ffff:127.0.0.1", true)]
    [InlineData("[2001:db8::]/32", "192.0.2.1", false)]
    public void MappedAndPlainIpv4AreOneAddress(string network, string client, bool contained)
    {
        Assert.True(IpNetwork.TryParse(network, out var net, out var error), error);
        Assert.Equal(contained, net.Contains(IPAddress.Parse(client)));
    }
}
