using System.Text;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Mail.Queue;
using Omoikane.Server.Smtp;

namespace Omoikane.Reliability;

/// <summary>
/// The parser entry points that face untrusted or hand-written input, as fuzz targets. Each takes
/// arbitrary bytes and must return normally: these parsers report problems as values (PathError,
/// ConfigDiagnostics, null with an error), never as exceptions. Shared by the deterministic smoke test
/// in the test suite and by the SharpFuzz harness in fuzz/ (which links this file).
/// </summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["path"] = Path,
        ["maincf"] = MainCfText,
        ["mastercf"] = MasterCfText,
        ["inline"] = Inline,
        ["tables"] = TableFiles,
        ["data"] = Data,
        ["queuefile"] = QueueFile,
        ["sasl-base64"] = SaslBase64,
        ["mime-dkim"] = MimeDkim,
    };

    private static string Text(byte[] input) => Encoding.UTF8.GetString(input);

    /// <summary>MAIL FROM / RCPT TO arguments (RFC 5321 §4.1.2) in every mode.</summary>
    public static void Path(byte[] input)
    {
        var s = Text(input);
        foreach (var (allowNull, utf8) in new[] { (true, true), (false, false) })
        {
            var err = PathParser.TryParse(s, allowNull, utf8, out var address, out var parameters);
            if (err == PathError.None)
            {
                _ = address.ToString();
                foreach (var p in parameters) _ = p.Keyword;
            }
        }
        _ = PathParser.ParseMailbox(s, true, out _);
        _ = PathParser.IsValidDomain(s, true);
        _ = PathParser.IsValidAddressLiteral(s);
    }

    /// <summary>main.cf, then every parameter read back with $name expansion.</summary>
    public static void MainCfText(byte[] input)
    {
        var diags = new ConfigDiagnostics();
        var entries = MainCf.Parse(Text(input), "main.cf", diags);
        var p = new Parameters(entries);
        foreach (var e in entries)
        {
            _ = p.Get(e.Name);
            _ = p.GetList(e.Name);
        }
        _ = p.ExpandText(Text(input));
    }

    public static void MasterCfText(byte[] input)
    {
        var diags = new ConfigDiagnostics();
        foreach (var s in MasterCf.Parse(Text(input), "master.cf", diags, new List<string>()))
            _ = s.Service;
    }

    /// <summary>inline:{...} specifications, and a lookup of every word in the input.</summary>
    public static void Inline(byte[] input)
    {
        var text = Text(input);
        var table = InlineTable.Parse(text.StartsWith("inline:", StringComparison.Ordinal) ? text : "inline:{" + text + "}", new ConfigDiagnostics());
        if (table is null) return;
        foreach (var key in text.Split([' ', ',', '=', '{', '}'], StringSplitOptions.RemoveEmptyEntries).Take(50))
            _ = table.LookupAsync(key).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>cidr:, texthash: and alias-map sources, then lookups of addresses and words from the input.</summary>
    public static void TableFiles(byte[] input)
    {
        var text = Text(input);
        var diags = new ConfigDiagnostics();
        var tables = new ILookupTable[]
        {
            CidrTable.Parse("cidr:fuzz", "fuzz", text, diags),
            TextHashTable.Parse("texthash:fuzz", "fuzz", text, diags),
            AliasTable.Parse("hash:fuzz", "fuzz", text, diags),
        };
        var keys = new List<string> { "127.0.0.1", "::1", "192.0.2.1", "2001:db8::1", "" };
        keys.AddRange(text.Split([' ', '\t', '\n', ':', ','], StringSplitOptions.RemoveEmptyEntries).Take(20));
        foreach (var t in tables)
            foreach (var k in keys)
                _ = t.LookupAsync(k).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The DATA decoder, fed in chunks whose sizes come from the input itself.</summary>
    public static void Data(byte[] input)
    {
        var decoder = new DataDecoder();
        var output = new byte[input.Length + 2];
        int i = 0, chunk = input.Length == 0 ? 1 : input[0] % 7 + 1;
        while (i < input.Length && !decoder.IsDone)
        {
            var n = Math.Min(chunk, input.Length - i);
            var slice = input.AsSpan(i, n);
            var consumed = decoder.Decode(slice, output.AsSpan(0, n + 2), out var written, out _);
            if (consumed < 0 || consumed > n || written < 0 || written > n + 2) throw new InvalidOperationException("decoder out of bounds");
            if (consumed < n && !decoder.IsDone) throw new InvalidOperationException("decoder stopped before the end without end of data");
            i += consumed;
            chunk = chunk % 13 + 1;
        }
    }

    /// <summary>A queue file's envelope as the queue manager reads it at start.</summary>
    public static void QueueFile(byte[] input)
    {
        var env = QueueEnvelope.TryParse(input, out var offset, out var error);
        if (env is null && error is null) throw new InvalidOperationException("no envelope and no error");
        if (env is not null && (offset < 0 || offset > input.Length)) throw new InvalidOperationException("content offset out of range");
        if (env is not null) _ = QueueEnvelope.TryParse(Encoding.UTF8.GetBytes(env.Serialize()), out _, out _);
    }

    /// <summary>SASL responses (SMTP AUTH and POP3 AUTH share the strict base64 rules).</summary>
    public static void SaslBase64(byte[] input)
    {
        var s = Text(input);
        _ = SmtpSession.TryDecode(s, out _);
        _ = Omoikane.Server.Pop3.Pop3Session.TryDecode(s, out _);
    }

    private static readonly Lazy<Omoikane.Mail.Authentication.MessageAuthentication> Authentication = new(() =>
    {
        // example.com publishes an RSA key at s._domainkey, SPF and a reject DMARC policy; our own mail is signed with it.
        var key = Omoikane.Mail.Authentication.Dkim.DkimKeyGenerator.Generate(Omoikane.Mail.Authentication.Dkim.DkimKeyType.Rsa);
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"omoikane-fuzz-{Environment.ProcessId}.key");
        Omoikane.Mail.Authentication.Dkim.DkimKeyGenerator.WriteKeyFile(path, key);
        var dns = new Omoikane.Mail.Dns.StaticDnsResolver()
            .AddTxt("s._domainkey.example.com", key.TxtRecord)
            .AddTxt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
            .AddTxt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s");
        var options = new Omoikane.Mail.Authentication.AuthenticationOptions
        {
            AuthServId = "fuzz.example", InboundChecks = true,
            SigningKeys = [new Omoikane.Mail.Authentication.Dkim.DkimSigningKey("example.com", "s", path)],
        };
        var problems = new List<string>();
        return Omoikane.Mail.Authentication.MessageAuthentication.Create(options, dns, problems);
    });

    /// <summary>
    /// A message through the MIME parser, DKIM verification (signature tags, key record, canonicalization),
    /// SPF and DMARC as mail from outside, and through DKIM signing as our own. It may throw only what
    /// the SMTP session tolerates there (anything but cancellation and I/O errors, which end the session).
    /// </summary>
    public static void MimeDkim(byte[] input)
    {
        var auth = Authentication.Value;
        var context = new Omoikane.Mail.Authentication.InboundContext(System.Net.IPAddress.Parse("192.0.2.1"), "helo.example.com", "a@example.com");
        foreach (var sign in new[] { false, true })
        {
            using var message = new MemoryStream(input);
            try
            {
                var verdict = (sign ? auth.SignAsync(message) : auth.CheckAsync(context, message)).AsTask().GetAwaiter().GetResult();
                _ = verdict.Prepend;
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or IOException)) { }
        }
    }
}
