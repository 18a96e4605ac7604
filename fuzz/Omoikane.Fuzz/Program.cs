using System.Net;
using System.Net.Sockets;
using System.Text;
using Omoikane.Reliability;
using SharpFuzz;

namespace Omoikane.Fuzz;

/// <summary>
/// SharpFuzz entry point: "Omoikane.Fuzz TARGET" runs one target under AFL (stdin) or libFuzzer
/// ("--libfuzzer"); "Omoikane.Fuzz TARGET --replay FILE..." runs saved inputs once, for triage.
/// Targets: the parsers in FuzzTargets, plus "pop3" and "smtp", which drive a live session.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: Omoikane.Fuzz TARGET [--libfuzzer | --replay FILE...]; targets: "
                + string.Join(' ', FuzzTargets.All.Keys.Append("pop3").Append("smtp")));
            return 2;
        }
        Action<byte[]> target = args[0] switch
        {
            "pop3" => SessionTarget.Pop3,
            "smtp" => SessionTarget.Smtp,
            var name when FuzzTargets.All.TryGetValue(name, out var t) => t,
            var name => throw new ArgumentException("unknown target " + name),
        };
        if (args.Length > 1 && args[1] == "--replay")
        {
            foreach (var file in args.Skip(2)) { target(File.ReadAllBytes(file)); Console.WriteLine("ok " + file); }
            return 0;
        }
        if (args.Length > 1 && args[1] == "--libfuzzer")
        {
            Fuzzer.LibFuzzer.Run(span => target(span.ToArray()));
            return 0;
        }
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            target(ms.ToArray());
        });
        return 0;
    }
}

/// <summary>
/// The POP3 and SMTP command parsers live inside their sessions, so these targets run one in-process
/// server on loopback and send the input as one client's byte stream; a session that throws anything
/// but a connection error is logged by the listener as "session failed", which is turned into a crash.
/// </summary>
internal static class SessionTarget
{
    private static Lazy<(int Smtp, int Pop3, string Log)> _server = new(Start);

    private static (int, int, string) Start()
    {
        var dir = Path.Combine(Path.GetTempPath(), "omoikane-fuzz-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "main.cf"), $"myhostname = fuzz.example\nmydestination = example.test\ndata_directory = {dir}/data\nsmtpd_error_sleep_time = 0\nsmtpd_timeout = 2s\npop3d_timeout = 2s\n");
        File.WriteAllText(Path.Combine(dir, "master.cf"), "127.0.0.1:25 inet n - n - - smtpd\n127.0.0.1:110 inet n - n - - pop3d\n");
        var config = Omoikane.Mail.Config.ConfigLoader.Load(dir);
        var host = Omoikane.Server.Hosting.ServerHost.StartAsync(config, new Omoikane.Server.Hosting.ServerHostOptions { EphemeralPorts = true, LogToStderr = false }).GetAwaiter().GetResult();
        host.Users.Add("alice@example.test", "pw");
        int Port(string s) => host.Endpoints.First(e => e.Service.Service == s).EndPoint.Port;
        return (Port("127.0.0.1:25"), Port("127.0.0.1:110"), host.Config.Main.Get("maillog_file"));
    }

    public static void Pop3(byte[] input) => Run(_server.Value.Pop3, Encoding.ASCII.GetBytes("USER alice@example.test\r\nPASS pw\r\n").Concat(input).ToArray());
    public static void Smtp(byte[] input) => Run(_server.Value.Smtp, Encoding.ASCII.GetBytes("EHLO fuzz.example\r\n").Concat(input).ToArray());

    private static void Run(int port, byte[] input)
    {
        using (var c = new TcpClient())
        {
            c.Connect(IPAddress.Loopback, port);
            var s = c.GetStream();
            s.ReadTimeout = 3000;
            try { s.Write(input); c.Client.Shutdown(SocketShutdown.Send); } catch (IOException) { }
            var buf = new byte[65536];
            try { while (s.Read(buf) > 0) { } } catch (IOException) { }
        }
        var log = _server.Value.Log;
        if (File.Exists(log) && File.ReadAllText(log).Contains("session failed", StringComparison.Ordinal))
            throw new InvalidOperationException("a session failed: see " + log);
    }
}
