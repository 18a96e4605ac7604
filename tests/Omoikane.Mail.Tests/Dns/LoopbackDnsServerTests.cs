using System.Net;
using System.Net.Sockets;
using Omoikane.TestSupport.Dns;

namespace Omoikane.Mail.Tests.Dns;

/// <summary>The test DNS server's wire format, checked with raw sockets (RFC 1035 §4).</summary>
public sealed class LoopbackDnsServerTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);
    private readonly LoopbackDnsServer _server = LoopbackDnsServer.Start();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static byte[] Query(ushort id, string name, DnsType type)
    {
        var bytes = new List<byte> { (byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        bytes.AddRange(new byte[] { 0, (byte)((int)type >> 8), (byte)type, 0, 1 });
        return bytes.ToArray();
    }

    private async Task<byte[]?> AskUdpAsync(Socket socket, byte[] query, TimeSpan wait)
    {
        await socket.SendToAsync(query, SocketFlags.None, _server.EndPoint);
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(wait);
        try
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return buffer[..n];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static Socket UdpClient() => new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    [Fact]
    public async Task AnswerNamesAreCompressedAgainstTheQuestion()
    {
        _server.AddA("www.example.test", "192.0.2.1", ttl: 77);
        using var socket = UdpClient();
        var response = await AskUdpAsync(socket, Query(0x1234, "www.example.test", DnsType.A), Wait);
        Assert.NotNull(response);
        Assert.Equal(new byte[] { 0x12, 0x34 }, response[..2]);
        Assert.Equal(0x80, response[2] & 0x80);   // QR
        Assert.Equal(0x04, response[2] & 0x04);   // AA
        Assert.Equal(0, response[3] & 0x0F);      // NOERROR
        Assert.Equal(1, (response[6] << 8) | response[7]); // ANCOUNT
        int answerAt = 12 + 18 + 4;               // header, question name (18 octets), QTYPE/QCLASS
        Assert.Equal(new byte[] { 0xC0, 0x0C }, response[answerAt..(answerAt + 2)]); // pointer to offset 12
        Assert.Equal(new byte[] { 0, 1, 0, 1, 0, 0, 0, 77, 0, 4, 192, 0, 2, 1 }, response[(answerAt + 2)..]);
    }

    [Fact]
    public async Task UnknownNameGetsNxDomainWithSoa()
    {
        _server.NegativeTtl = 42;
        using var socket = UdpClient();
        var response = await AskUdpAsync(socket, Query(7, "missing.example.test", DnsType.Mx), Wait);
        Assert.NotNull(response);
        Assert.Equal(3, response[3] & 0x0F);
        Assert.Equal(0, (response[6] << 8) | response[7]); // ANCOUNT
        Assert.Equal(1, (response[8] << 8) | response[9]); // NSCOUNT
        Assert.Equal(new byte[] { 0, 0, 0, 42 }, response[^4..]); // SOA MINIMUM
    }

    [Fact]
    public async Task TruncatedQueriesAreIgnoredAndTheServerKeepsAnswering()
    {
        _server.AddA("ok.example.test", "192.0.2.2");
        var query = Query(0x4242, "ok.example.test", DnsType.A);
        using var socket = UdpClient();
        for (int length = 0; length < query.Length; length++)
            await socket.SendToAsync(query[..length], SocketFlags.None, _server.EndPoint);
        var response = await AskUdpAsync(socket, query, Wait);
        Assert.NotNull(response);
        Assert.Equal(new byte[] { 0x42, 0x42 }, response[..2]); // no earlier answer was queued
        Assert.Equal(1, _server.QueryCount("ok.example.test"));
    }

    [Fact]
    public async Task LargeAnswerIsTruncatedOverUdpWithoutEdns()
    {
        for (int i = 0; i < 10; i++) _server.AddTxt("big.example.test", new string((char)('a' + i), 200));
        using var socket = UdpClient();
        var response = await AskUdpAsync(socket, Query(9, "big.example.test", DnsType.Txt), Wait);
        Assert.NotNull(response);
        Assert.True(response.Length <= 512);
        Assert.Equal(0x02, response[2] & 0x02); // TC
    }

    [Fact]
    public async Task TcpCarriesSeveralLengthPrefixedQueriesOnOneConnection()
    {
        for (int i = 0; i < 10; i++) _server.AddTxt("big.example.test", new string((char)('a' + i), 200));
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcp.ConnectAsync(_server.EndPoint);
        await using var stream = new NetworkStream(tcp);
        using var cts = new CancellationTokenSource(Wait);
        for (ushort id = 1; id <= 2; id++)
        {
            var query = Query(id, "big.example.test", DnsType.Txt);
            await stream.WriteAsync(new byte[] { 0, (byte)query.Length }.Concat(query).ToArray(), cts.Token);
            var prefix = new byte[2];
            await stream.ReadExactlyAsync(prefix, cts.Token);
            var response = new byte[(prefix[0] << 8) | prefix[1]];
            await stream.ReadExactlyAsync(response, cts.Token);
            Assert.True(response.Length > 2000);
            Assert.Equal(id, (response[0] << 8) | response[1]);
            Assert.Equal(0, response[2] & 0x02); // not truncated
            Assert.Equal(10, (response[6] << 8) | response[7]);
        }
        Assert.Equal(2, _server.TcpQueryCount);
    }

    [Fact]
    public async Task NeverAnswerSendsNothing()
    {
        _server.SetBehavior("quiet.example.test", DnsBehavior.NeverAnswer);
        using var socket = UdpClient();
        Assert.Null(await AskUdpAsync(socket, Query(1, "quiet.example.test", DnsType.A), TimeSpan.FromMilliseconds(300)));
        Assert.Equal(1, _server.QueryCount("quiet.example.test"));
    }

    [Fact]
    public void OnlyLoopbackAddressesAreAccepted()
        => Assert.Throws<ArgumentException>(() => LoopbackDnsServer.Start(IPAddress.Any));

    [Fact]
    public async Task DisposeClosesTheTcpListener()
    {
        var server = LoopbackDnsServer.Start();
        var endPoint = server.EndPoint;
        Assert.NotEqual(0, endPoint.Port);
        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(() => tcp.ConnectAsync(endPoint).WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
