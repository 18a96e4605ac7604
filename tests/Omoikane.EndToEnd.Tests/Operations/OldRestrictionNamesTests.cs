using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>
/// Restriction names of old Postfix files: the names Postfix 2.3 renamed work as their new names in real
/// sessions; the names Postfix removed stop the start with a message naming the replacement; check --migration
/// lists both with their replacements.
/// </summary>
public sealed class OldRestrictionNamesTests
{
    [Fact]
    public async Task RenamedHeloRestrictionsRejectAsTheirNewNames()
    {
        await using var server = await TestServer.StartAsync("""
            smtpd_helo_restrictions = reject_invalid_hostname, reject_non_fqdn_hostname
            """);
        foreach (var (helo, reply) in new[]
        {
            ("bad..name", "501 5.5.2 <bad..name>: Helo command rejected: Invalid name"),
            ("nodots", "504 5.5.2 <nodots>: Helo command rejected: need fully-qualified hostname"),
        })
        {
            await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint());
            Assert.StartsWith("220 ", await c.ReplyAsync());
            Assert.StartsWith("250", await c.CommandAsync($"EHLO {helo}"));
            Assert.StartsWith("250", await c.CommandAsync("MAIL FROM:<a@sender.test>"));
            Assert.Equal(reply, await c.CommandAsync("RCPT TO:<postmaster@example.test>"));
        }
        await using var ok = await RawSmtpClient.ConnectAsync(server.EndPoint());
        await ok.ReplyAsync();
        await ok.CommandAsync("EHLO client.example.test");
        await ok.CommandAsync("MAIL FROM:<a@sender.test>");
        Assert.StartsWith("250", await ok.CommandAsync("RCPT TO:<postmaster@example.test>"));
    }

    [Theory]
    [InlineData("check_relay_domains", "reject_unauth_destination")]
    [InlineData("permit_naked_ip_address", "permit_mynetworks or permit_sasl_authenticated")]
    [InlineData("reject_maps_rbl", "reject_rbl_client domain-name")]
    public async Task RemovedNamesStopTheStartNamingTheReplacement(string name, string replacement)
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(
            $"smtpd_recipient_restrictions = permit_mynetworks, {name}, reject_unauth_destination"));
        Assert.Contains($"smtpd_recipient_restrictions: support for restriction \"{name}\" has been removed from Postfix: instead, specify \"{replacement}\"", e.Message);
    }

    [Fact]
    public async Task CheckMigrationNamesOldNamesAndTheirReplacements()
    {
        var dir = Directory.CreateTempSubdirectory("omoikane-oldnames-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), $"""
                myhostname = mail.example.test
                smtpd_client_restrictions = reject_unknown_client
                smtpd_helo_restrictions = reject_unknown_hostname
                smtpd_recipient_restrictions = permit_mynetworks, check_relay_domains
                data_directory = {dir}/data
                """);
            File.WriteAllText(Path.Combine(dir, "master.cf"), "127.0.0.1:2525 inet n - n - - smtpd\n");
            var (code, stdout, stderr) = await OmoikaneProcess.RunAsync(dir, null, "check", "--migration", "--config", dir);
            var output = stdout + stderr;
            Assert.Matches(@"migration: renamed   reject_unknown_client in smtpd_client_restrictions \(.*main\.cf:2\): the old name of reject_unknown_client_hostname; accepted, write reject_unknown_client_hostname", output);
            Assert.Matches(@"migration: renamed   reject_unknown_hostname in smtpd_helo_restrictions \(.*main\.cf:3\): the old name of reject_unknown_helo_hostname; accepted, write reject_unknown_helo_hostname", output);
            Assert.Matches(@"migration: removed   check_relay_domains in smtpd_recipient_restrictions \(.*main\.cf:4\): removed from Postfix; use reject_unauth_destination", output);
            Assert.Equal(1, code);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
