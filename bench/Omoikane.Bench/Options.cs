using System.Globalization;
using System.Net;

namespace Omoikane.Bench;

/// <summary>Which measurement to run.</summary>
public enum Mode { Smtp, Idle, Pop3, MakeMaildrop }

/// <summary>
/// Command-line options. Parsed by hand (no dependencies): every option is
/// <c>--name value</c> or a bare flag. Unknown options are an error.
/// </summary>
public sealed class Options
{
    public Mode Mode = Mode.Smtp;
    public string Target = "server";          // label printed in the result line
    public string Host = "127.0.0.1";
    public int Port = 25;
    public int Sessions = 1;
    public int Messages = 1000;
    public int Size = 1024;                    // approximate message size in bytes (headers + body)
    public string From = "bench@client.test";
    public string Rcpt = "u1@bench.test";
    public string Helo = "client.test";
    public string? Maildir;                    // wait for deliveries in Maildir/new
    public string? SinkCounter;                // wait for "mesg=N" in an smtp-sink -c output file
    public string Pipelining = "auto";         // auto | on | off
    public bool Rset;                          // send RSET before every MAIL after the first
    public int Idle;                           // number of idle connections (--idle N)
    public double HoldSeconds = 60;            // how long to hold idle connections
    public string? ReadyFile;                  // created once all idle connections are open
    public int ConnectParallel = 32;           // connects in flight while opening idle connections
    public string? MakeMaildrop;               // write a POP3 fixture Maildir here
    public string User = "u1@bench.test";      // POP3
    public string Password = "";               // POP3
    public double ReplyTimeoutSeconds = 60;    // per server reply
    public double DeadlineSeconds = 900;       // whole run, including the wait for deliveries
    public double DeliverTimeoutSeconds = 600; // wait for deliveries after the last acceptance

    public TimeSpan ReplyTimeout => TimeSpan.FromSeconds(ReplyTimeoutSeconds);

    public const string Usage = """
        omoikane-bench: SMTP / POP3 load generator (loopback only)

          SMTP intake (default mode):
            --host 127.0.0.1 --port P --sessions S --messages N --size BYTES
            [--rcpt ADDR] [--from ADDR] [--helo NAME] [--pipelining auto|on|off] [--rset]
            [--maildir DIR]        wait until the accepted messages appear in DIR/new
            [--sink-counter FILE]  wait until an `smtp-sink -c` output FILE counts them
            [--deliver-timeout SEC]
          Idle connections:
            --idle N [--hold SEC] [--ready-file PATH] [--connect-parallel K]
          POP3 retrieval (LIST, RETR every message, QUIT; nothing is deleted):
            --pop3 --user NAME --password PW
          POP3 fixture (N files of about BYTES each in DIR/new):
            --make-maildrop DIR --messages N --size BYTES [--rcpt ADDR]
          Common:
            --target LABEL  --reply-timeout SEC  --deadline SEC

        Prints one result line, e.g.
          smtp target=omoikane S=10 size=1024 sent=5000 accepted=5000 accepted/s=... delivered/s=... p50_ms=... p99_ms=...
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
            double NextDouble() => double.Parse(Next(), CultureInfo.InvariantCulture);
            switch (a)
            {
                case "--target": o.Target = Next(); break;
                case "--host": o.Host = Next(); break;
                case "--port": o.Port = NextInt(); break;
                case "--sessions": o.Sessions = NextInt(); break;
                case "--messages": o.Messages = NextInt(); break;
                case "--size": o.Size = NextInt(); break;
                case "--from": o.From = Next(); break;
                case "--rcpt": o.Rcpt = Next(); break;
                case "--helo": o.Helo = Next(); break;
                case "--maildir": o.Maildir = Next(); break;
                case "--sink-counter": o.SinkCounter = Next(); break;
                case "--pipelining": o.Pipelining = Next(); break;
                case "--rset": o.Rset = true; break;
                case "--idle": o.Mode = Mode.Idle; o.Idle = NextInt(); break;
                case "--hold": o.HoldSeconds = NextDouble(); break;
                case "--ready-file": o.ReadyFile = Next(); break;
                case "--connect-parallel": o.ConnectParallel = NextInt(); break;
                case "--pop3": o.Mode = Mode.Pop3; break;
                case "--make-maildrop": o.Mode = Mode.MakeMaildrop; o.MakeMaildrop = Next(); break;
                case "--user": o.User = Next(); break;
                case "--password": o.Password = Next(); break;
                case "--reply-timeout": o.ReplyTimeoutSeconds = NextDouble(); break;
                case "--deadline": o.DeadlineSeconds = NextDouble(); break;
                case "--deliver-timeout": o.DeliverTimeoutSeconds = NextDouble(); break;
                default: throw new ArgumentException($"unknown option {a}");
            }
        }
        o.Validate();
        return o;
    }

    private void Validate()
    {
        // Benchmarks only ever talk to this machine.
        if (!IPAddress.TryParse(Host, out var ip) || !IPAddress.IsLoopback(ip))
            throw new ArgumentException($"--host must be a loopback address, got {Host}");
        if (Port is < 1 or > 65535) throw new ArgumentException("--port out of range");
        if (Sessions is < 1 or > 10_000) throw new ArgumentException("--sessions must be 1..10000");
        if (Messages is < 1 or > 10_000_000) throw new ArgumentException("--messages must be 1..10000000");
        if (Size is < 64 or > 64 * 1024 * 1024) throw new ArgumentException("--size must be 64..67108864");
        if (Mode == Mode.Idle && Idle is < 1 or > 100_000) throw new ArgumentException("--idle must be 1..100000");
        if (Pipelining is not ("auto" or "on" or "off")) throw new ArgumentException("--pipelining must be auto, on or off");
        if (ConnectParallel is < 1 or > 1000) throw new ArgumentException("--connect-parallel must be 1..1000");
    }
}
