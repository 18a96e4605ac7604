using System.Net;
using System.Text;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;

namespace Omoikane.Server.Tests.Pop3;

/// <summary>MailKit's Pop3Client against a real session on 127.0.0.1, for every login method and command.</summary>
public sealed class Pop3MailKitTests : IAsyncLifetime
{
    private Pop3TestServer _server = null!;

    public Task InitializeAsync()
    {
        _server = new Pop3TestServer();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<Pop3Client> ConnectAsync(SecureSocketOptions tls = SecureSocketOptions.None, int? port = null)
    {
        var client = new Pop3Client { Timeout = 10_000, ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", port ?? _server.Port, tls);
        return client;
    }

    /// <summary>Only USER/PASS left: no APOP, no SASL.</summary>
    private static void UseUserPass(Pop3Client client)
    {
        client.Capabilities &= ~Pop3Capabilities.Apop;
        client.AuthenticationMechanisms.Clear();
    }

    [Fact]
    public async Task UserPassLogsInAndReportsTheMaildrop()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: one\n\nhello\n");
        _server.Deliver(Pop3TestServer.Alice, "Subject: two\n\nworld\nagain\n");
        using var client = await ConnectAsync();
        UseUserPass(client);
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.True(client.IsAuthenticated);
        Assert.Equal(2, client.Count);
        var sizes = await client.GetMessageSizesAsync();
        Assert.Equal(new[] { 23, 30 }, sizes);
        await client.DisconnectAsync(true);
        Assert.NotNull(await _server.WaitForLogAsync("pop3-login: Login: user=<alice@localhost>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1"));
        Assert.NotNull(await _server.WaitForLogAsync("pop3(alice@localhost): Disconnected: Logged out top=0/0, retr=0/0, del=0/2, size=53"));
    }

    [Fact]
    public async Task ApopLogsIn()
    {
        using var client = await ConnectAsync();
        Assert.True(client.Capabilities.HasFlag(Pop3Capabilities.Apop));
        client.AuthenticationMechanisms.Clear();
        await client.AuthenticateAsync(Pop3TestServer.Bob, Pop3TestServer.BobPassword);
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
        Assert.NotNull(await _server.WaitForLogAsync("Login: user=<bob@localhost>, method=APOP"));
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("CRAM-MD5")]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("LOGIN")]
    public async Task SaslMechanismsLogIn(string mechanism)
    {
        using var client = await ConnectAsync();
        Assert.Contains(mechanism, client.AuthenticationMechanisms);
        var credentials = new NetworkCredential(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        SaslMechanism sasl = mechanism switch
        {
            "PLAIN" => new SaslMechanismPlain(credentials),
            "CRAM-MD5" => new SaslMechanismCramMd5(credentials),
            "SCRAM-SHA-256" => new SaslMechanismScramSha256(credentials),
            _ => new SaslMechanismLogin(credentials),
        };
        await client.AuthenticateAsync(sasl);
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
        Assert.NotNull(await _server.WaitForLogAsync($"Login: user=<alice@localhost>, method={mechanism}, rip=127.0.0.1"));
    }

    [Fact]
    public async Task StlsThenUserPassLogsInUnderTls()
    {
        using var client = await ConnectAsync(SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        UseUserPass(client);
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
        Assert.NotNull(await _server.WaitForLogAsync("Login: user=<alice@localhost>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, TLS"));
    }

    [Fact]
    public async Task ScramSha256PlusIsOfferedAndWorksUnderTls()
    {
        using var client = await ConnectAsync(SecureSocketOptions.StartTls);
        Assert.Contains("SCRAM-SHA-256-PLUS", client.AuthenticationMechanisms);
        await client.AuthenticateAsync(new NetworkCredential(Pop3TestServer.Bob, Pop3TestServer.BobPassword));
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
    }

    /// <summary>pop3d_tls_security_level = encrypt: MailKit sees no mechanism and cannot log in before STLS; after it, it can.</summary>
    [Fact]
    public async Task AtEncryptMailKitLogsInOnlyAfterStls()
    {
        await using var server = new Pop3TestServer(o => o with { TlsLevel = "encrypt" });
        using (var plain = await ConnectAsync(SecureSocketOptions.None, server.Port))
        {
            Assert.Empty(plain.AuthenticationMechanisms);
            Assert.True(plain.Capabilities.HasFlag(Pop3Capabilities.StartTLS));
            await Assert.ThrowsAnyAsync<Exception>(() => plain.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword));
            Assert.False(plain.IsAuthenticated);
        }
        using var client = await ConnectAsync(SecureSocketOptions.StartTls, server.Port);
        Assert.Contains("CRAM-MD5", client.AuthenticationMechanisms);
        await client.AuthenticateAsync(new SaslMechanismCramMd5(Pop3TestServer.Alice, Pop3TestServer.AlicePassword));
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);
        Assert.NotNull(await server.WaitForLogAsync("Login: user=<alice@localhost>, method=CRAM-MD5, rip=127.0.0.1, lip=127.0.0.1, TLS"));
    }

    [Fact]
    public async Task WrapperModeSpeaksTlsFromTheFirstByte()
    {
        await using var pop3s = new Pop3TestServer(o => o with { WrapperMode = true });
        pop3s.Deliver(Pop3TestServer.Alice, "Subject: s\n\nsecure\n");
        using var client = await ConnectAsync(SecureSocketOptions.SslOnConnect, pop3s.Port);
        Assert.True(client.IsSecure);
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.Equal(1, client.Count);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task WrongPasswordIsRefusedWithAuthCodeAndLogged()
    {
        using var client = await ConnectAsync();
        UseUserPass(client);
        var ex = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(Pop3TestServer.Alice, "wrong"));
        Assert.False(client.IsAuthenticated);
        // Still connected and in AUTHORIZATION: a second try with the right password works.
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.True(client.IsAuthenticated);
        await client.DisconnectAsync(true);

        using var apop = await ConnectAsync();
        apop.AuthenticationMechanisms.Clear();
        await Assert.ThrowsAsync<AuthenticationException>(() => apop.AuthenticateAsync(Pop3TestServer.Bob, "wrong"));
        apop.Disconnect(false);
        var line = await _server.WaitForLogAsync("pop3-login: Disconnected (auth failed, ");
        Assert.NotNull(line);
        Assert.Contains("user=<bob@localhost>, method=", line);
        Assert.EndsWith("rip=127.0.0.1, lip=127.0.0.1", line);
    }

    [Fact]
    public async Task WrongSaslPasswordIsRefused()
    {
        using var client = await ConnectAsync();
        var credentials = new NetworkCredential(Pop3TestServer.Alice, "nope");
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismScramSha256(credentials)));
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismCramMd5(credentials)));
        Assert.False(client.IsAuthenticated);
        Assert.Equal(2, _server.Throttle.Failures(IPAddress.Loopback));
    }

    [Fact]
    public async Task TransactionCommandsWork()
    {
        _server.Deliver(Pop3TestServer.Alice, "From: a@example.org\nSubject: first\n\nline 1\nline 2\nline 3\n");
        _server.Deliver(Pop3TestServer.Alice, "Subject: second\n\nbody\n");
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.Equal(2, client.Count);
        await client.NoOpAsync();

        var uids = await client.GetMessageUidsAsync();
        Assert.Equal(2, uids.Count);
        Assert.Equal(uids[1], await client.GetMessageUidAsync(1));

        var message = await client.GetMessageAsync(0);
        Assert.Equal("first", message.Subject);
        Assert.Equal("line 1\nline 2\nline 3\n", message.TextBody!.ReplaceLineEndings("\n"));

        var headers = await client.GetMessageHeadersAsync(1);
        Assert.Equal("second", headers[MimeKit.HeaderId.Subject]);

        await client.DeleteMessageAsync(0);
        await Assert.ThrowsAsync<Pop3CommandException>(() => client.GetMessageAsync(0));
        await client.ResetAsync();
        Assert.Equal("first", (await client.GetMessageAsync(0)).Subject);
        Assert.Equal("Subject: second\r\n\r\nbody\r\n".Length, await client.GetMessageSizeAsync(1));
        await client.DisconnectAsync(true);
        Assert.NotNull(await _server.WaitForLogAsync("Logged out top=1/"));
        Assert.Equal(2, _server.Files(Pop3TestServer.Alice, "cur").Length);
    }

    [Fact]
    public async Task DeleteThenDropDeletesNothing()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: keep\n\nx\n");
        _server.Deliver(Pop3TestServer.Alice, "Subject: keep too\n\ny\n");
        using (var client = await ConnectAsync())
        {
            await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
            await client.DeleteMessagesAsync(new[] { 0, 1 });
            await client.DisconnectAsync(false);   // no QUIT
        }
        await _server.WaitForUnlockedAsync();
        Assert.Equal(2, _server.Files(Pop3TestServer.Alice, "cur").Length);
        Assert.NotNull(await _server.WaitForLogAsync("pop3(alice@localhost): Disconnected: Connection closed top=0/0, retr=0/0, del=0/2"));

        using var again = await ConnectAsync();
        await again.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.Equal(2, again.Count);
    }

    [Fact]
    public async Task DeleteThenQuitDeletes()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: gone\n\nx\n");
        var keep = _server.Deliver(Pop3TestServer.Alice, "Subject: stays\n\ny\n");
        using (var client = await ConnectAsync())
        {
            await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
            await client.DeleteMessageAsync(0);
            await client.DisconnectAsync(true);
        }
        var left = _server.Files(Pop3TestServer.Alice, "cur");
        Assert.Single(left);
        Assert.StartsWith(keep + ",", left[0]);
        Assert.NotNull(await _server.WaitForLogAsync("Logged out top=0/0, retr=0/0, del=1/2"));
    }

    [Fact]
    public async Task SecondConcurrentSessionGetsInUse()
    {
        _server.Deliver(Pop3TestServer.Alice, "Subject: x\n\nx\n");
        using var first = await ConnectAsync();
        await first.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);

        await using (var raw = await RawPop3Client.ConnectAsync(_server.Port))
        {
            await raw.ReadLineAsync();
            Assert.Equal("+OK", await raw.CommandAsync("USER " + Pop3TestServer.Alice));
            var answer = await raw.CommandAsync("PASS " + Pop3TestServer.AlicePassword);
            Assert.StartsWith("-ERR [IN-USE]", answer);
            // Still in AUTHORIZATION: another user can log in on the same connection.
            Assert.Equal("+OK", await raw.CommandAsync("USER " + Pop3TestServer.Bob));
            Assert.StartsWith("+OK", await raw.CommandAsync("PASS " + Pop3TestServer.BobPassword));
        }

        using var second = await ConnectAsync();
        await Assert.ThrowsAsync<AuthenticationException>(() => second.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword));
        Assert.NotNull(await _server.WaitForLogAsync("pop3-login: Login refused, mailbox in use: user=<alice@localhost>"));

        await first.DisconnectAsync(true);
        await _server.WaitForUnlockedAsync();
        using var third = await ConnectAsync();
        await third.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.Equal(1, third.Count);
    }

    [Fact]
    public async Task UidlIsStableAcrossSessionsAndRestarts()
    {
        var u1 = _server.Deliver(Pop3TestServer.Alice, "Subject: a\n\na\n");
        var u2 = _server.Deliver(Pop3TestServer.Alice, "Subject: b\n\nb\n");
        IList<string> before;
        using (var client = await ConnectAsync())
        {
            await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
            before = await client.GetMessageUidsAsync();
            await client.DisconnectAsync(true);
        }
        Assert.Equal(new[] { u1, u2 }, before);
        // The move new/ → cur/ kept the unique names.
        Assert.Empty(_server.Files(Pop3TestServer.Alice, "new"));
        Assert.All(_server.Files(Pop3TestServer.Alice, "cur"), f => Assert.EndsWith(":2,", f));

        var u3 = _server.Deliver(Pop3TestServer.Alice, "Subject: c\n\nc\n");
        await _server.RestartAsync();
        using var after = await ConnectAsync();
        await after.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.Equal(new[] { u1, u2, u3 }, await after.GetMessageUidsAsync());
    }

    [Fact]
    public async Task MessageIsRetrievedByteForByte()
    {
        var content = "Received: from x\nSubject: dots\n\n.leading dot\n..two dots\n.\nlast line without newline";
        _server.Deliver(Pop3TestServer.Alice, content);
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        var expected = Encoding.UTF8.GetBytes(content.Replace("\n", "\r\n") + "\r\n");
        using var stream = await client.GetStreamAsync(0);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(expected, copy.ToArray());
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task LoginRecordsPopBeforeSmtp()
    {
        Assert.False(_server.PopBeforeSmtp.IsAuthorized(IPAddress.Loopback, DateTimeOffset.UtcNow));
        using var client = await ConnectAsync();
        await client.AuthenticateAsync(Pop3TestServer.Alice, Pop3TestServer.AlicePassword);
        Assert.True(_server.PopBeforeSmtp.IsAuthorized(IPAddress.Loopback, DateTimeOffset.UtcNow));
        await client.DisconnectAsync(true);
    }
}
