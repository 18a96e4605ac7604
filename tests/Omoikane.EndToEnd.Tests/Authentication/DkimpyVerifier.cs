using System.Net;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Authentication;

/// <summary>
/// dkimpy (Debian python3-dkim), an independent DKIM implementation. Its dkimverify command asks the
/// system resolver, so the library is called with a DNS function that asks the loopback server instead
/// (through dnspython, which dkimpy depends on). Skips when dkimpy is not installed.
/// </summary>
public static class DkimpyVerifier
{
    private const string Script = """
        import sys, dkim, dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [sys.argv[1]]
        r.port = int(sys.argv[2])
        r.lifetime = 5
        def txt(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            try:
                answer = r.resolve(name, "TXT")
            except Exception:
                return None
            for record in answer:
                return b"".join(record.strings)
            return None
        message = sys.stdin.buffer.read()
        ok = dkim.verify(message, dnsfunc=txt)
        print("pass" if ok else "fail")
        sys.exit(0 if ok else 1)
        """;

    public static async Task AssertVerifiesAsync(string message, IPEndPoint dns)
    {
        var dkimverify = ExternalProgram.Find("dkimverify");
        Skip.If(dkimverify is null, "dkimverify is not installed (Debian package python3-dkim; .ci/run installs it)");
        // The interpreter dkimverify runs with is the one that has the dkim module.
        var shebang = File.ReadLines(dkimverify!).First();
        var python = shebang.StartsWith("#!", StringComparison.Ordinal) ? shebang[2..].Trim().Split(' ')[0] : "python3";
        var (code, output, error) = await ExternalProgram.RunAsync(python, ["-c", Script, dns.Address.ToString(), dns.Port.ToString()],
            stdin: message.ReplaceLineEndings("\r\n"), timeoutMs: 30000);
        Assert.True(code == 0, $"dkimpy: {output.Trim()} {error.Trim()}");
        Assert.Equal("pass", output.Trim());
    }
}
