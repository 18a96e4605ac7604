using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Omoikane.Bench;

/// <summary>
/// POP3 retrieval: USER/PASS, LIST, RETR every listed message, QUIT. Nothing is deleted,
/// so the same maildrop can be read again. Reports messages/s and MB/s (octets as
/// received on the wire, terminators included).
/// <para>
/// The client is kept as light as a client can be, so that the figure is the server's: one
/// thread with blocking socket calls (no event loop between the kernel and the reader), and
/// a multi-line response is found by searching the received blocks for CRLF "." CRLF rather
/// than by splitting lines. One command is outstanding at a time, as fetchmail and getmail
/// retrieve, so each message costs the server one full round trip.
/// </para>
/// </summary>
public static class Pop3Retrieve
{
    public static Task<int> RunAsync(Options o) => Task.FromResult(Run(o));

    private static int Run(Options o)
    {
        var deadline = Stopwatch.StartNew();
        var sw = Stopwatch.StartNew();
        using var c = new BlockingPop3(o.Host, o.Port, o.ReplyTimeout);

        c.Status("greeting");
        c.Command($"USER {o.User}");
        c.Command($"PASS {o.Password}");
        double loginSeconds = sw.Elapsed.TotalSeconds;

        // LIST: "n size" lines.
        c.Command("LIST");
        var numbers = new List<int>();
        long listedOctets = 0;
        foreach (var line in Encoding.ASCII.GetString(c.Multiline()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            numbers.Add(int.Parse(parts[0], CultureInfo.InvariantCulture));
            listedOctets += long.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        long bytesBefore = c.BytesRead;
        int retrieved = 0;
        foreach (int n in numbers)
        {
            if (deadline.Elapsed.TotalSeconds > o.DeadlineSeconds) break;
            c.Command(string.Create(CultureInfo.InvariantCulture, $"RETR {n}"));
            c.SkipMultiline();
            retrieved++;
        }
        c.Command("QUIT");
        double total = sw.Elapsed.TotalSeconds;
        long bytes = c.BytesRead - bytesBefore;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pop3 target={o.Target} listed={numbers.Count} listed_octets={listedOctets} retrieved={retrieved} " +
            $"bytes={bytes} total_s={SmtpLoad.F(total)} login_s={SmtpLoad.F(loginSeconds)} " +
            $"msgs/s={SmtpLoad.F(retrieved / total)} MB/s={SmtpLoad.F(bytes / total / 1e6)}"));
        return retrieved == numbers.Count && retrieved > 0 ? 0 : 1;
    }

    /// <summary>A POP3 client on a blocking socket with one receive buffer; every receive has a timeout.</summary>
    private sealed class BlockingPop3 : IDisposable
    {
        private readonly Socket _socket;
        private byte[] _buf = new byte[256 * 1024];
        private int _start, _end;   // unread bytes are _buf[_start.._end)

        public long BytesRead { get; private set; }

        public BlockingPop3(string host, int port, TimeSpan timeout)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            int ms = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
            _socket.ReceiveTimeout = ms;
            _socket.SendTimeout = ms;
            var connect = _socket.BeginConnect(new IPEndPoint(IPAddress.Parse(host), port), null, null);
            if (!connect.AsyncWaitHandle.WaitOne(timeout))
            {
                _socket.Dispose();
                throw new TimeoutException($"connect to {host}:{port} timed out");
            }
            _socket.EndConnect(connect);
        }

        /// <summary>Sends a command line and reads its status; throws on -ERR.</summary>
        public void Command(string line)
        {
            var bytes = Encoding.ASCII.GetBytes(line + "\r\n");
            for (int sent = 0; sent < bytes.Length;) sent += _socket.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
            Status(line.Split(' ')[0]);
        }

        /// <summary>Reads a status line; throws unless it is +OK.</summary>
        public void Status(string what)
        {
            int lf;
            while ((lf = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start)) < 0) Fill();
            string text = Encoding.ASCII.GetString(_buf, _start, lf + 1 - _start).TrimEnd();
            _start = lf + 1;
            if (!text.StartsWith("+OK", StringComparison.Ordinal)) throw new IOException($"{what}: {text}");
        }

        /// <summary>Consumes a multi-line body through its terminating line.</summary>
        public void SkipMultiline() => _start = FindEnd();

        /// <summary>Returns a multi-line body (lines with their CRLF, terminator excluded).</summary>
        public byte[] Multiline()
        {
            int end = FindEnd();
            var body = _buf.AsSpan(_start, end - 3 - _start).ToArray();
            _start = end;
            return body;
        }

        // The index just past ".\r\n": a body ends at a line that is only "." (the status line's CRLF
        // counts as the line before the first body line).
        private int FindEnd()
        {
            while (_end - _start < 3) Fill();
            if (_buf.AsSpan(_start, 3).SequenceEqual(".\r\n"u8)) return _start + 3;
            int scanned = 0;   // bytes after _start already searched (Fill may move the buffer)
            while (true)
            {
                int from = _start + scanned;
                int i = _buf.AsSpan(from, _end - from).IndexOf("\r\n.\r\n"u8);
                if (i >= 0) return from + i + 5;
                scanned = Math.Max(0, _end - _start - 4);
                Fill();
            }
        }

        private void Fill()
        {
            if (_start > 0 && (_end == _buf.Length || _start == _end))
            {
                Array.Copy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
            int n = _socket.Receive(_buf, _end, _buf.Length - _end, SocketFlags.None);
            if (n == 0) throw new IOException("connection closed by server");
            _end += n;
            BytesRead += n;
        }

        public void Dispose()
        {
            try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
            _socket.Dispose();
        }
    }
}
