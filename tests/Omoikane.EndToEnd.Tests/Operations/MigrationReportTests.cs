using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Operations;

/// <summary>omoikane check on a Postfix directory: the migration report, and hosts.allow/hosts.deny findings.</summary>
public sealed class MigrationReportTests
{
    // A Debian-style Postfix main.cf with Cyrus SASL, as a small site had it.
    private const string PostfixMainCf = """
        smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
        biff = no
        append_dot_mydomain = no
        readme_directory = no
        compatibility_level = 3.6
        smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
        smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
        smtpd_tls_security_level=may
        smtpd_sasl_type = cyrus
        smtpd_sasl_auth_enable = yes
        smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
        myhostname = mail.example.test
        mydestination = $myhostname, example.test, localhost
        mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
        mailbox_size_limit = 0
        message_size_limit = 10m
        recipient_delimiter = +
        inet_interfaces = all
        virtual_mailbox_limit = 51200000
        home_mailbox = Maildir/
        inet_protocols = all
        """;

    private const string PostfixMasterCf = """
        smtp      inet  n       -       y       -       -       smtpd
        pickup    unix  n       -       y       60      1       pickup
        cleanup   unix  n       -       y       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        """;

    private static string Directory(string mainCf, string masterCf)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("omoikane-migrate-").FullName;
        File.WriteAllText(Path.Combine(dir, "main.cf"), mainCf + $"\ndata_directory = {dir}/data\n");
        File.WriteAllText(Path.Combine(dir, "master.cf"), masterCf);
        return dir;
    }

    [Fact]
    public async Task CheckOnAPostfixDirectoryReportsEveryParameter()
    {
        var dir = Directory(PostfixMainCf, PostfixMasterCf);
        try
        {
            var (code, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            var lines = stdout.Split('\n').Where(l => l.StartsWith("migration: ", StringComparison.Ordinal)).ToList();
            Assert.Contains(lines, l => l.StartsWith("migration: honoured  myhostname (", StringComparison.Ordinal));
            // An ignored parameter says what happens instead.
            Assert.Contains(lines, l => l.StartsWith("migration: ignored   smtpd_sasl_type (", StringComparison.Ordinal) && l.Contains("no Cyrus SASL"));
            Assert.Contains(lines, l => l.StartsWith("migration: ignored   home_mailbox (", StringComparison.Ordinal)
                && l.EndsWith(": mail goes to the Maildir $virtual_mailbox_base/DOMAIN/LOCAL/ of a user in user_database (omoikane user add)", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("migration: ignored   inet_protocols (", StringComparison.Ordinal) && l.Contains("master.cf"));
            Assert.Contains(lines, l => l.StartsWith("migration: ignored   append_dot_mydomain (", StringComparison.Ordinal) && l.Contains("never completed"));
            Assert.Contains(lines, l => l.StartsWith("migration: honoured  inet_interfaces (", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("accepted without effect", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("migration: ignored   biff (", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("migration: honoured  mailbox_size_limit (", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("migration: rejected  message_size_limit (", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("migration: honoured  virtual_mailbox_limit (", StringComparison.Ordinal));
            var summary = lines.Last();
            Assert.Matches(@"^migration: 22 parameter\(s\): \d+ honoured, \d+ ignored, 1 rejected, \d+ unknown$", summary);
            Assert.Equal(22, lines.Count - 1);
            Assert.Contains("is internal to Postfix", stdout);
            Assert.Equal(1, code); // message_size_limit = 10m is an error
        }
        finally { System.IO.Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task TheReportIsOnRequestForAnOmoikaneDirectory()
    {
        var dir = Directory("myhostname = mail.example.test\nbiff = no\n", "127.0.0.1:2525 inet n - n - - smtpd\n");
        try
        {
            var (code, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            Assert.Equal(0, code);
            Assert.DoesNotContain("migration:", stdout);
            (code, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--migration", "--config", dir);
            Assert.Equal(0, code);
            Assert.Contains("migration: ignored   biff (", stdout);
            Assert.Contains("migration: 3 parameter(s): 2 honoured, 1 ignored, 0 rejected, 0 unknown", stdout);
        }
        finally { System.IO.Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task CheckReportsHostsAccessMistakesWithFileAndLine()
    {
        var dir = Directory("myhostname = mail.example.test\n", "127.0.0.1:2525 inet n - n - - smtpd\n");
        try
        {
            File.WriteAllText(Path.Combine(dir, "hosts.allow"), "smtpd: 192.168.0.0/16\n");
            File.WriteAllText(Path.Combine(dir, "hosts.deny"), "# everyone else\nsmtpd ALL\n");
            var (_, stdout, _) = await OmoikaneProcess.RunAsync(dir, null, "check", "--config", dir);
            Assert.Contains($"{Path.Combine(dir, "hosts.deny")}:2: warning: missing \":\" separator", stdout);
            Assert.DoesNotContain("hosts.allow", stdout);
        }
        finally { System.IO.Directory.Delete(dir, recursive: true); }
    }
}
