using System.Text;
using Omoikane.Mail.Logging;
using Omoikane.Mail.Policy;

namespace Omoikane.Server.Transport;

/// <summary>
/// Applies <see cref="HostsAccess"/> to the connections of one listener, before the protocol greets the
/// client. A refused client gets the refusal line (when the service speaks plaintext first; a TLS-wrapped
/// service is closed without a reply, since a plaintext line would only break the client's handshake)
/// and a log line in tcpd's words:
/// <c>warning: hosts_access: refused connect from unknown[192.0.2.1] to service smtpd (/etc/omoikane/hosts.deny:3)</c>.
/// </summary>
public sealed class HostsAccessGate(
    HostsAccess access, IReadOnlyCollection<string> daemonNames, string? refusalLine,
    Func<System.Net.IPAddress, CancellationToken, ValueTask<ClientIdentity>> resolveClient,
    MailLog log, string syslogName, string program)
{
    private readonly byte[]? _refusal = refusalLine is null ? null : Encoding.ASCII.GetBytes(refusalLine + "\r\n");

    /// <summary>The listener's Admit hook: true to let the session run.</summary>
    public async ValueTask<bool> AdmitAsync(Connection connection, CancellationToken ct)
    {
        var address = connection.RemoteAddress;
        ClientIdentity? identity = null;
        var decision = await access.CheckAsync(daemonNames, address, async token =>
        {
            identity = await resolveClient(address, token).ConfigureAwait(false);
            return new HostsAccessName(identity.Name, identity.Name != ClientIdentity.Unknown,
                identity.NameStatus == PeerNameStatus.Forged);
        }, ct).ConfigureAwait(false);
        if (decision.Granted) return true;
        var name = identity?.Name ?? ClientIdentity.Unknown;
        var where = decision.Rule!.Line > 0 ? $"{decision.Rule.File}:{decision.Rule.Line}" : $"{decision.Rule.File} is unreadable";
        // A refused connection is a short session of its own: its line carries a session number.
        using (var session = log.BeginSession())
            session.Write(syslogName, program,
                $"warning: hosts_access: refused connect from {name}[{address}] to service {daemonNames.First()} ({where})");
        if (_refusal is not null)
        {
            try
            {
                await connection.Output.WriteAsync(_refusal, ct).ConfigureAwait(false);
                await connection.Output.FlushAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException) { }
        }
        return false;
    }
}
