using System.Diagnostics;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Smtp;

/// <summary>
/// TLS policy of the SMTP service: at smtpd_tls_security_level = encrypt (the README's submission example)
/// nothing but HELO/EHLO, STARTTLS, NOOP, HELP and QUIT before TLS, and AUTH neither announced nor taken;
/// only TLS 1.2 and 1.3 are spoken.
/// </summary>
public sealed class TlsPolicyTests
{
    private const string Submission = "127.0.0.1:587";
    private const string Submissions = "127.0.0.1:465";

    /// <summary>The README's submission service.</summary>
    private const string EncryptMasterCf = """
        127.0.0.1:25 inet n - n - - smtpd
        127.0.0.1:587 inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submission
          -o smtpd_tls_security_level=encrypt
          -o smtpd_sasl_auth_enable=yes
        127.0.0.1:465 inet n - n - - smtpd
          -o syslog_name=postfix-omoikane/submissions
          -o smtpd_tls_wrappermode=yes
          -o smtpd_sasl_auth_enable=yes
        """;

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    [Fact]
    public async Task AtEncryptAuthIsNeitherAnnouncedNorAcceptedBeforeStartTls()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32", EncryptMasterCf);
        server.AddUser("alice@example.test", "pw");
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(Submission));
        await c.ReplyAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        var ehlo = await c.ReadReplyAsync();
        Assert.Contains("250-STARTTLS", ehlo);
        Assert.DoesNotContain(ehlo, l => l[4..].StartsWith("AUTH", StringComparison.Ordinal));
        // Right credentials, but in clear text: Postfix's answer, and no 235.
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await c.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "pw")));
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await c.CommandAsync("AUTH LOGIN"));
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await c.CommandAsync("MAIL FROM:<alice@example.test>"));
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await c.CommandAsync("RSET"));
        Assert.Equal("250 2.0.0 Ok", await c.CommandAsync("NOOP"));
        Assert.Equal("220 2.0.0 Ready to start TLS", await c.CommandAsync("STARTTLS"));
        await c.StartTlsAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        ehlo = await c.ReadReplyAsync();
        Assert.Contains(ehlo, l => l[4..].StartsWith("AUTH ", StringComparison.Ordinal) && l.Contains("PLAIN"));
        Assert.DoesNotContain("250-STARTTLS", ehlo);
        Assert.Equal("235 2.7.0 Authentication successful", await c.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "pw")));
        Assert.Equal("250 2.1.0 Ok", await c.CommandAsync("MAIL FROM:<alice@example.test>"));
        Assert.Equal("250 2.1.5 Ok", await c.CommandAsync("RCPT TO:<friend@elsewhere.example>"));
        await server.WaitForLogAsync("sasl_method=PLAIN, sasl_username=alice@example.test");
    }

    /// <summary>BDAT before TLS at encrypt: its payload is read and dropped, never taken as commands.</summary>
    [Fact]
    public async Task AtEncryptBdatBeforeStartTlsIsRefusedAndItsPayloadSkipped()
    {
        await using var server = await TestServer.StartAsync("", EncryptMasterCf);
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint(Submission));
        await c.ReplyAsync();
        await c.SendAsync("EHLO laptop.example\r\n");
        await c.ReadReplyAsync();
        var payload = "NOOP\r\nNOOP\r\n";
        await c.SendAsync($"BDAT {payload.Length} LAST\r\n{payload}");
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", await c.ReplyAsync());
        // Had the payload been read as commands, two "250 2.0.0 Ok" would come first.
        Assert.Equal("221 2.0.0 Bye", await c.CommandAsync("QUIT"));
    }

    [Fact]
    public async Task AtEncryptMailKitAuthenticatesOnlyAfterStartTls()
    {
        await using var server = await TestServer.StartAsync("mynetworks = 127.0.0.254/32", EncryptMasterCf);
        server.AddUser("alice@example.test", "pw");
        using (var plain = new SmtpClient { LocalDomain = "laptop.example", Timeout = 15000 })
        {
            await plain.ConnectAsync("127.0.0.1", server.Port(Submission), SecureSocketOptions.None);
            Assert.Empty(plain.AuthenticationMechanisms);
            Assert.True(plain.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
            await Assert.ThrowsAnyAsync<Exception>(() => plain.AuthenticateAsync("alice@example.test", "pw"));
            Assert.False(plain.IsAuthenticated);
        }
        using var client = new SmtpClient { LocalDomain = "laptop.example", ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15000 };
        await client.ConnectAsync("127.0.0.1", server.Port(Submission), SecureSocketOptions.StartTls);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);
        await client.AuthenticateAsync("alice@example.test", "pw");
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("alice@example.test"));
        m.To.Add(MailboxAddress.Parse("friend@elsewhere.example"));
        m.Subject = "after starttls";
        m.Body = new TextPart("plain") { Text = "hello\n" };
        await client.SendAsync(m);
        await client.DisconnectAsync(true);
    }

    public static TheoryData<bool, string, bool> Protocols => new()
    {
        { true, "-tls1", false }, { true, "-tls1_1", false }, { true, "-tls1_2", true }, { true, "-tls1_3", true },
        { false, "-tls1_1", false }, { false, "-tls1_2", true }, { false, "-tls1_3", true },
    };

    /// <summary>
    /// Implicit TLS and STARTTLS against the real program, run with an OpenSSL configuration that allows
    /// TLS 1.0 and weak suites (OPENSSL_CONF, @SECLEVEL=0) and probed by openssl s_client just as permissive:
    /// a TLS 1.0/1.1 failure is then the server's own refusal, not the local OpenSSL policy's.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public async Task OnlyTls12And13AreSpoken(bool implicitTls, string protocol, bool expected)
    {
        ExternalProgram.SkipUnlessInstalled("openssl", "openssl");
        var dir = Directory.CreateTempSubdirectory("omoikane-tls-").FullName;
        var port = OmoikaneProcess.FreePort();
        File.WriteAllText(Path.Combine(dir, "main.cf"),
            $"myhostname = mail.example.test\nmydestination = example.test\ndata_directory = {dir}/data\n{TestDns.MainCfLine}\n");
        File.WriteAllText(Path.Combine(dir, "master.cf"), implicitTls
            ? $"127.0.0.1:{port} inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n"
            : $"127.0.0.1:{port} inet n - n - - smtpd\n  -o smtpd_tls_security_level=may\n");
        var conf = Path.Combine(dir, "openssl.cnf");
        File.WriteAllText(conf, """
            openssl_conf = default_conf
            [default_conf]
            ssl_conf = ssl_sect
            [ssl_sect]
            system_default = system_default_sect
            [system_default_sect]
            MinProtocol = TLSv1
            CipherString = DEFAULT:@SECLEVEL=0
            """);
        using var server = await OmoikaneProcess.StartServerAsync(dir, dir, port, new Dictionary<string, string> { ["OPENSSL_CONF"] = conf });
        try
        {
            var args = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}", protocol, "-cipher", "DEFAULT:@SECLEVEL=0" };
            if (!implicitTls) args.AddRange(["-starttls", "smtp"]);
            var (_, stdout, stderr) = await ExternalProgram.RunAsync("openssl", args, stdin: "",
                env: new Dictionary<string, string> { ["OPENSSL_CONF"] = conf }, timeoutMs: 30000);
            var output = stdout + stderr;
            var name = protocol switch { "-tls1" => "TLSv1", "-tls1_1" => "TLSv1.1", "-tls1_2" => "TLSv1.2", _ => "TLSv1.3" };
            // s_client prints the attempted protocol even when the handshake failed; "Cipher is (NONE)" then.
            // A TLS 1.3 session block may not be printed before s_client quits; its "New," line names the version.
            var established = !output.Contains("Cipher is (NONE)", StringComparison.Ordinal)
                && (output.Contains($"Protocol  : {name}\n", StringComparison.Ordinal) || output.Contains($"New, {name}, Cipher is ", StringComparison.Ordinal));
            Assert.True(established == expected, output);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A client's TLS 1.2 renegotiation ("R" in openssl s_client) ends the connection; with renegotiation
    /// allowed the NOOP sent afterwards would get "250 2.0.0 Ok".
    /// </summary>
    [SkippableFact]
    public async Task ClientInitiatedRenegotiationIsRefused()
    {
        ExternalProgram.SkipUnlessInstalled("openssl", "openssl");
        await using var server = await TestServer.StartAsync("", EncryptMasterCf);
        var psi = new ProcessStartInfo(ExternalProgram.Find("openssl")!)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "s_client", "-connect", $"127.0.0.1:{server.Port(Submission)}", "-tls1_2", "-starttls", "smtp" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            // Each line on its own, after the previous one had time to act (s_client reads commands per read).
            foreach (var line in new[] { "R", "NOOP", "QUIT" })
            {
                await Task.Delay(1500, cts.Token);
                if (p.HasExited) break;
                try { await p.StandardInput.WriteAsync(line + "\n"); await p.StandardInput.FlushAsync(); }
                catch (IOException) { break; }
            }
            p.StandardInput.Close();
            await p.WaitForExitAsync(cts.Token);
        }
        finally { if (!p.HasExited) p.Kill(true); }
        var output = await stdout + await stderr;
        Assert.Contains("RENEGOTIATING", output);
        Assert.DoesNotContain("250 2.0.0 Ok", output);
    }
}
