using System.Text;
using Omoikane.EndToEnd.Tests.Support;
using Omoikane.Reliability;

namespace Omoikane.EndToEnd.Tests.Reliability;

/// <summary>
/// A short, deterministic fuzz run over the same entry points as the SharpFuzz harness (fuzz/): random
/// and mutated inputs from a fixed seed; no parser may throw. The POP3 and SMTP command parsers are
/// driven over a socket, since they live inside the sessions.
/// </summary>
public sealed class FuzzSmokeTests
{
    private const int Seed = 7;
    private const int Iterations = 3000;

    /// <summary>Seeds that look like real input, so mutations reach deep paths.</summary>
    private static readonly string[] Corpus =
    [
        "<alice@example.test> SIZE=100 BODY=8BITMIME", "<\"quoted local\"@[192.0.2.1]>", "<@relay.example:user@example.test>", "<>", "<postmaster>",
        "myhostname = mail.example.com\nmydestination = $myhostname, localhost\n  example.org\nx = ${myhostname?yes} ${a:b} $$\n# c\n",
        "a = $b\nb = $a\nc = ${c}\n",
        "smtp inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n[::1]:2525 inet n - n - 10 smtpd\npop3s inet n - n - - pop3d\n",
        "inline:{ a=b, { c = d e }, f=}", "192.0.2.0/24 REJECT\n2001:db8::/32 OK\n!10.0.0.0/8 DUNNO\nif /x/\n",
        "alice: bob, \"|cmd\", :include:/x\nbob@example.test OK\n",
        "Subject: x\r\n\r\n.body\r\n..two\r\n.\r\n", "a\n.\nb\r.\r\n.\r\n",
        "OMOIKANE-QUEUE 1\nid: A\narrival: 1\nsender: a@b\nrcpt: c@d\tx\\ty\n\nbody\n.OMOIKANE-END\n",
        "AGFsaWNlQGV4YW1wbGUudGVzdABwdw==", "=",
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=s; h=from:subject;\r\n bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\nFrom: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n",
    ];

    private static byte[] Mutate(Random r, byte[] seed)
    {
        var data = new List<byte>(seed);
        int edits = r.Next(1, 8);
        for (int e = 0; e < edits; e++)
        {
            int pos = data.Count == 0 ? 0 : r.Next(data.Count);
            switch (r.Next(6))
            {
                case 0: if (data.Count > 0) data[pos] = (byte)r.Next(256); break;
                case 1: data.Insert(pos, (byte)"<>@:\"\\[]{}$=,\r\n\t .\0\xff"[r.Next(20)]); break;
                case 2: if (data.Count > 0) data.RemoveAt(pos); break;
                case 3: data.InsertRange(pos, Enumerable.Repeat((byte)r.Next(256), r.Next(1, 300))); break;
                case 4: if (data.Count > 1) { var n = r.Next(1, Math.Min(64, data.Count - pos) + 1); data.InsertRange(pos, data.GetRange(pos, Math.Min(n, data.Count - pos))); } break;
                default: data.InsertRange(pos, Encoding.UTF8.GetBytes(Corpus[r.Next(Corpus.Length)])); break;
            }
        }
        return data.Count > 65536 ? data.GetRange(0, 65536).ToArray() : data.ToArray();
    }

    public static TheoryData<string> Targets => new(FuzzTargets.All.Keys);

    [Theory]
    [MemberData(nameof(Targets))]
    public void ParserNeverThrowsOnRandomInput(string target)
    {
        var run = FuzzTargets.All[target];
        var r = new Random(Seed);
        var seeds = Corpus.Select(Encoding.UTF8.GetBytes).ToArray();
        var deadline = Environment.TickCount64 + 20000;
        for (int i = 0; i < Iterations && Environment.TickCount64 < deadline; i++)
        {
            byte[] input = r.Next(4) == 0
                ? Enumerable.Range(0, r.Next(0, 200)).Select(_ => (byte)r.Next(256)).ToArray()
                : Mutate(r, seeds[r.Next(seeds.Length)]);
            try { run(input); }
            catch (Exception ex)
            {
                Assert.Fail($"{target} threw {ex.GetType().Name}: {ex.Message} on input (base64) {Convert.ToBase64String(input)}");
            }
        }
    }

    /// <summary>Random command lines to the POP3 and SMTP sessions: each gets one reply line or a close, never a crash.</summary>
    [Fact]
    public async Task SessionsSurviveRandomCommandLines()
    {
        await using var server = await TestServer.StartAsync("smtpd_hard_error_limit = 1000\nsmtpd_junk_command_limit = 1000", """
            127.0.0.1:25 inet n - n - - smtpd
            127.0.0.1:110 inet n - n - - pop3d
            """);
        server.AddUser("alice@example.test", "pw");
        var r = new Random(Seed);
        string[] pop3Verbs = ["USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "RETR", "DELE", "TOP", "UIDL", "NOOP", "RSET", "CAPA", "STLS"];
        string[] smtpVerbs = ["EHLO", "HELO", "MAIL FROM:", "RCPT TO:", "VRFY", "RSET", "NOOP", "HELP", "AUTH", "BDAT"];
        string Arg() => Encoding.Latin1.GetString(Mutate(r, Encoding.UTF8.GetBytes(Corpus[r.Next(Corpus.Length)])).Where(b => b is not (13 or 10)).Take(400).ToArray());

        await using (var pop = await RawSmtpClient.ConnectAsync(server.EndPoint("127.0.0.1:110")))
        {
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.Pop3Async("USER alice@example.test");
            await pop.Pop3Async("PASS pw");
            for (int i = 0; i < 300; i++)
            {
                var verb = pop3Verbs[r.Next(pop3Verbs.Length)];
                if (verb is "STLS" or "AUTH") continue; // these switch protocols or wait for more lines
                await pop.SendBytesAsync(verb + " " + Arg() + "\r\n");
                var line = await pop.ReadLineAsync();
                if (line is null) break;
                Assert.Matches(@"^(\+OK|-ERR)", line);
                // The maildrop is empty: only LIST/UIDL without an argument and CAPA answer with a multi-line +OK.
                if (line.StartsWith("+OK", StringComparison.Ordinal) && verb is "LIST" or "UIDL" or "CAPA")
                    await pop.Pop3MultiLineAsync();
            }
        }
        await Hostile.AssertStillServesPop3Async(server.EndPoint("127.0.0.1:110"));

        await using (var smtp = await Hostile.OpenSmtpAsync(server.EndPoint()))
        {
            for (int i = 0; i < 300; i++)
            {
                var verb = smtpVerbs[r.Next(smtpVerbs.Length)];
                if (verb is "AUTH" or "BDAT") continue;
                await smtp.SendBytesAsync(verb + Arg() + "\r\n");
                List<string> reply;
                try { reply = await smtp.ReadReplyAsync(); }
                catch (IOException) { break; } // the session may end (e.g. a non-SMTP verb): a close, not a crash
                Assert.Matches(@"^[2345]\d\d[ -]", reply[^1]);
            }
        }
        await Hostile.AssertStillServesSmtpAsync(server.EndPoint());
    }
}
