using System.Net;
using System.Text;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Policy.Tables;
using Omoikane.Server.Smtp;

namespace Omoikane.Server.Transport;

/// <summary>
/// The per-client concurrency limit of one service (smtpd_client_connection_count_limit,
/// pop3d_client_connection_count_limit), applied by the listener as soon as a connection is accepted:
/// before hosts_access, DNS and any TLS handshake, so clients that open connections and never speak (or
/// never send a TLS ClientHello) hold at most the limit's worth of slots. Clients in
/// smtpd_client_event_limit_exceptions are not limited. A refused client gets the refusal line when the
/// service speaks plaintext first; a TLS-wrapped service closes without a reply.
/// </summary>
public sealed class ConnectionLimit(
    ClientConnectionCounter counter, int limit, IReadOnlyList<IpNetwork> exceptions, string? refusalLine,
    MailLog log, string syslogName, string program, string serviceName)
{
    private readonly string? _refusal = refusalLine;

    /// <summary>Counts the connection; returns the lease that uncounts it, or null when it was refused (and answered).</summary>
    public async ValueTask<IDisposable?> TryOpenAsync(Connection connection, CancellationToken ct)
    {
        var address = connection.RemoteAddress;
        var n = counter.Open(address);
        var lease = new Lease(counter, address);
        if (limit <= 0 || n <= limit || exceptions.Any(e => e.Contains(address))) return lease;
        lease.Dispose();
        log.Write(syslogName, program, $"warning: Connection concurrency limit exceeded: {n} from unknown[{address}] for service {serviceName}");
        if (_refusal is not null)
        {
            try
            {
                await connection.Output.WriteAsync(Encoding.ASCII.GetBytes(_refusal.Replace("{ip}", address.ToString()) + "\r\n"), ct).ConfigureAwait(false);
                await connection.Output.FlushAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException) { }
        }
        return null;
    }

    private sealed class Lease(ClientConnectionCounter counter, IPAddress address) : IDisposable
    {
        private int _closed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0) counter.Close(address);
        }
    }
}
