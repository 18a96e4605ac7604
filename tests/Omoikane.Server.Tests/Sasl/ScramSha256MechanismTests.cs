using System.Text;
using Omoikane.Mail.Credentials;
using Omoikane.Server.Sasl;

namespace Omoikane.Server.Tests.Sasl;

public class ScramSha256MechanismTests
{
    private static readonly SaslContext Plain = new("mail.example.org");
    private static readonly byte[] Exporter = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] EndPoint = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
    private static readonly SaslContext WithBinding = new("mail.example.org", Exporter, EndPoint);

    private static string Text(SaslStep step) => Encoding.UTF8.GetString(step.Challenge!);
    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Rfc7677ExampleExchange()
    {
        // RFC 7677 §3: user "user", password "pencil", the server's nonce and salt as in the example.
        var record = new UserRecord("user", ScramCredential.Derive("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096), null, null);
        var m = new ScramSha256Mechanism(new RawNameStore(record), Plain, plus: false, plusOffered: false, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

        var first = m.Step("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"u8);
        Assert.Equal(SaslStatus.Continue, first.Status);
        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", Text(first));

        var final = m.Step("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="u8);
        Assert.Equal(SaslStatus.Success, final.Status);
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", Text(final));
        Assert.Equal("user", m.AuthenticatedUser);
    }

    [Fact]
    public void FullExchangeWithStoredUser()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        Assert.StartsWith("r=fyko+d2lbbFgONRv9qkxdawL", serverFirst);
        Assert.EndsWith(",i=4096", serverFirst);
        var final = m.Step(Bytes(client.ClientFinal(serverFirst)));
        Assert.Equal(SaslStatus.Success, final.Status);
        Assert.Equal(client.ExpectedServerFinal, Text(final));
        Assert.Equal(TestUsers.Ann, m.AuthenticatedUser);
    }

    [Fact]
    public void WithoutInitialResponseAnEmptyChallengeComesFirst()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var empty = m.Step([]);
        Assert.Equal(SaslStatus.Continue, empty.Status);
        Assert.Empty(empty.Challenge!);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        Assert.Equal(SaslStatus.Success, m.Step(Bytes(client.ClientFinal(serverFirst))).Status);
    }

    [Fact]
    public void ServerNoncesDiffer()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var a = Text(new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false).Step(Bytes(client.ClientFirst)));
        var b = Text(new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false).Step(Bytes(client.ClientFirst)));
        Assert.NotEqual(a.Split(',')[0], b.Split(',')[0]);
    }

    [Fact]
    public void WrongPasswordFailsWithInvalidProof()
    {
        var client = new ScramTestClient(TestUsers.Ann, "pencil2");
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        var step = m.Step(Bytes(client.ClientFinal(serverFirst)));
        Assert.Equal(SaslStatus.Failure, step.Status);
        Assert.Equal("e=invalid-proof", Text(step));
        Assert.Null(m.AuthenticatedUser);
    }

    [Fact]
    public void UnknownUserGetsAStableSaltAndFailsAtTheProof()
    {
        var client = new ScramTestClient("ghost@example.org", "x");
        var a = Text(new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false).Step(Bytes(client.ClientFirst)));
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var b = Text(m.Step(Bytes(client.ClientFirst)));
        Assert.Equal(a.Split(',')[1], b.Split(',')[1]);   // same s= each time, as for a real user
        Assert.Equal(SaslStatus.Failure, m.Step(Bytes(client.ClientFinal(b))).Status);
    }

    [Fact]
    public void WrongNonceFails()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        var step = m.Step(Bytes(client.ClientFinal(serverFirst, nonceOverride: "fyko+d2lbbFgONRv9qkxdawLforged")));
        Assert.Equal(SaslStatus.Failure, step.Status);
    }

    [Fact]
    public void ProofFromAnotherExchangeFails()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var m1 = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var final1 = client.ClientFinal(Text(m1.Step(Bytes(client.ClientFirst))));
        var m2 = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        m2.Step(Bytes(client.ClientFirst));
        Assert.Equal(SaslStatus.Failure, m2.Step(Bytes(final1)).Status);
    }

    [Fact]
    public void TamperedProofFails()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var final = client.ClientFinal(Text(m.Step(Bytes(client.ClientFirst))));
        int p = final.IndexOf(",p=", StringComparison.Ordinal) + 3;
        var proof = Convert.FromBase64String(final[p..]);
        proof[0] ^= 1;
        Assert.Equal(SaslStatus.Failure, m.Step(Bytes(final[..p] + Convert.ToBase64String(proof))).Status);
    }

    [Theory]
    [InlineData("n=ann@example.org,r=abc")]                    // no gs2 header
    [InlineData("x,,n=ann@example.org,r=abc")]                 // bad cbind flag
    [InlineData("n,a,n=ann@example.org,r=abc")]                // bad authzid field
    [InlineData("n,,r=abc,n=ann@example.org")]                 // attributes out of order
    [InlineData("n,,n=ann@example.org")]                       // no nonce
    [InlineData("n,,n=ann@example.org,r=")]                    // empty nonce
    [InlineData("n,,n=,r=abc")]                                // empty user name
    [InlineData("n,,n=ann=2Bx@example.org,r=abc")]             // bad saslname escape
    [InlineData("n,,m=ext,n=ann@example.org,r=abc")]           // mandatory extension
    [InlineData("p=tls-unique,,n=ann@example.org,r=abc")]      // binding on the non-PLUS mechanism
    [InlineData("n,,n=ann@example.org,r=abc,,")]               // empty extension
    [InlineData("n,,n=ann@example.org,r=a\u00e9c")]            // non-printable nonce
    [InlineData("n,a=joe@example.org,n=ann@example.org,r=abc")] // authzid of another user
    [InlineData("n,")]
    [InlineData("n")]
    public void BadClientFirstFails(string message)
    {
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var step = m.Step(Bytes(message));
        Assert.Equal(SaslStatus.Failure, step.Status);
        Assert.StartsWith("e=", Text(step));
    }

    [Fact]
    public void MandatoryExtensionIsReportedAsUnsupported()
    {
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        Assert.Equal("e=extensions-not-supported", Text(m.Step("n,,m=ext,n=ann@example.org,r=abc"u8)));
    }

    [Fact]
    public void AuthzidEqualToUserIsAccepted()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword, gs2Header: "n,a=Ann@Example.org,");
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        Assert.Equal(SaslStatus.Success, m.Step(Bytes(client.ClientFinal(serverFirst))).Status);
    }

    [Fact]
    public void EveryTruncationOfClientFinalFails()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword);
        var store = TestUsers.Store();
        var probe = new ScramSha256Mechanism(store, Plain, false, false, "SERVERNONCE");
        var final = Bytes(client.ClientFinal(Text(probe.Step(Bytes(client.ClientFirst)))));
        for (int n = 0; n < final.Length; n++)
        {
            var m = new ScramSha256Mechanism(store, Plain, false, false, "SERVERNONCE");
            m.Step(Bytes(client.ClientFirst));
            Assert.Equal(SaslStatus.Failure, m.Step(final.AsSpan(0, n)).Status);
        }
        var whole = new ScramSha256Mechanism(store, Plain, false, false, "SERVERNONCE");
        whole.Step(Bytes(client.ClientFirst));
        Assert.Equal(SaslStatus.Success, whole.Step(final).Status);
    }

    [Fact]
    public void ChannelBindingFlagMismatchInClientFinalFails()
    {
        // The client-first said "n,," but client-final claims "y,,": c= must repeat the gs2 header.
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword, gs2Header: "y,,");
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var serverFirst = Text(m.Step(Bytes("n,," + client.ClientFirstBare)));
        Assert.Equal(SaslStatus.Failure, m.Step(Bytes(client.ClientFinal(serverFirst))).Status);
    }

    [Fact]
    public void YFlagIsADowngradeWhenPlusWasOffered()
    {
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword, gs2Header: "y,,");
        var offered = new ScramSha256Mechanism(TestUsers.Store(), WithBinding, plus: false, plusOffered: true);
        Assert.Equal("e=server-does-support-channel-binding", Text(offered.Step(Bytes(client.ClientFirst))));

        var notOffered = new ScramSha256Mechanism(TestUsers.Store(), Plain, plus: false, plusOffered: false);
        var serverFirst = Text(notOffered.Step(Bytes(client.ClientFirst)));
        Assert.Equal(SaslStatus.Success, notOffered.Step(Bytes(client.ClientFinal(serverFirst))).Status);
    }

    [Theory]
    [InlineData("tls-exporter", true)]
    [InlineData("tls-server-end-point", false)]
    public void PlusBindsToTheChannel(string type, bool exporter)
    {
        var data = exporter ? Exporter : EndPoint;
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword, gs2Header: $"p={type},,", channelBinding: data);
        var m = new ScramSha256Mechanism(TestUsers.Store(), WithBinding, plus: true, plusOffered: true);
        Assert.Equal("SCRAM-SHA-256-PLUS", m.Name);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        var final = m.Step(Bytes(client.ClientFinal(serverFirst)));
        Assert.Equal(SaslStatus.Success, final.Status);
        Assert.Equal(client.ExpectedServerFinal, Text(final));
    }

    [Fact]
    public void PlusFailsWhenTheClientSawAnotherChannel()
    {
        var otherChannel = Exporter.Select(b => (byte)(b ^ 0xFF)).ToArray();
        var client = new ScramTestClient(TestUsers.Ann, TestUsers.AnnPassword, gs2Header: "p=tls-exporter,,", channelBinding: otherChannel);
        var m = new ScramSha256Mechanism(TestUsers.Store(), WithBinding, plus: true, plusOffered: true);
        var serverFirst = Text(m.Step(Bytes(client.ClientFirst)));
        var step = m.Step(Bytes(client.ClientFinal(serverFirst)));
        Assert.Equal(SaslStatus.Failure, step.Status);
        Assert.Equal("e=channel-bindings-dont-match", Text(step));
    }

    [Theory]
    [InlineData("n,,")]
    [InlineData("y,,")]
    [InlineData("p=tls-unique,,")]
    public void PlusRequiresASupportedBinding(string gs2)
    {
        var m = new ScramSha256Mechanism(TestUsers.Store(), WithBinding, plus: true, plusOffered: true);
        Assert.Equal(SaslStatus.Failure, m.Step(Bytes(gs2 + "n=ann@example.org,r=abc")).Status);
    }

    [Fact]
    public void PlusFailsWhenTheContextLacksThatBinding()
    {
        var m = new ScramSha256Mechanism(TestUsers.Store(), new SaslContext("h", TlsExporter: Exporter), plus: true, plusOffered: true);
        Assert.Equal("e=unsupported-channel-binding-type", Text(m.Step("p=tls-server-end-point,,n=ann@example.org,r=abc"u8)));
    }

    [Fact]
    public void InteroperatesWithMailKitClient()
    {
        var m = new ScramSha256Mechanism(TestUsers.Store(), Plain, false, false);
        var client = new MailKit.Security.SaslMechanismScramSha256(new System.Net.NetworkCredential(TestUsers.Ann, TestUsers.AnnPassword));
        var clientFirst = Convert.FromBase64String(client.Challenge(null));
        var serverFirst = m.Step(clientFirst);
        var clientFinal = Convert.FromBase64String(client.Challenge(Convert.ToBase64String(serverFirst.Challenge!)));
        var final = m.Step(clientFinal);
        Assert.Equal(SaslStatus.Success, final.Status);
        client.Challenge(Convert.ToBase64String(final.Challenge!));   // MailKit checks the server signature
        Assert.True(client.IsAuthenticated);
    }
}
