using System.Net;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Tests.Dns;

public sealed class StaticDnsResolverTests
{
    [Fact]
    public async Task DistinguishesNxDomainNoDataAndTempFail()
    {
        var dns = new StaticDnsResolver()
            .AddAddress("host.example.test", "192.0.2.1", "2001:db8::1")
            .AddMx("example.test", 20, "b.example.test.").AddMx("example.test", 10, "a.example.test")
            .AddNullMx("nomail.example.test")
            .AddTxt("example.test", "v=spf1 -all")
            .SetStatus("down.example.test", DnsStatus.TempFail)
            .SetStatus("example.test", DnsStatus.TempFail, DnsRecordType.A);

        Assert.Equal(2, (await dns.LookupAddressesAsync("HOST.example.test.")).Records.Count);
        Assert.Equal(new[] { new MxRecord(10, "a.example.test"), new MxRecord(20, "b.example.test") }, (await dns.LookupMxAsync("example.test")).Records);
        Assert.True((await dns.LookupMxAsync("nomail.example.test")).IsNullMx());
        Assert.Equal("v=spf1 -all", Assert.Single((await dns.LookupTxtAsync("example.test")).Records));
        Assert.Equal(DnsStatus.NoData, (await dns.LookupMxAsync("host.example.test")).Status);
        Assert.Equal(DnsStatus.NxDomain, (await dns.LookupMxAsync("none.example.test")).Status);
        Assert.Equal(DnsStatus.TempFail, (await dns.LookupMxAsync("down.example.test")).Status);
        Assert.Equal(DnsStatus.TempFail, (await dns.LookupAddressesAsync("example.test")).Status);
        Assert.Equal(DnsStatus.Ok, (await dns.LookupTxtAsync("example.test")).Status);
        Assert.Equal(DnsStatus.NxDomain, (await dns.LookupPtrAsync(IPAddress.Parse("192.0.2.1"))).Status);
        // MX, TXT twice, and A plus AAAA for the address lookup.
        Assert.Equal(5, dns.QueryCount("example.test"));
    }
}
