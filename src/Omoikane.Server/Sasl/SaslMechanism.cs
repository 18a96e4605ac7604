namespace Omoikane.Server.Sasl;

public enum SaslStatus { Continue, Success, Failure, TempFail }

/// <summary>One step's outcome (Postfix xsasl.h: continue / done / fail / temp fail).</summary>
/// <param name="Challenge">Server data to send (raw bytes, base64-encoded by the protocol) when Continue,
/// or additional success data (SCRAM's server-final) when Success.</param>
public readonly record struct SaslStep(SaslStatus Status, byte[]? Challenge = null, string? Reason = null)
{
    public static SaslStep Fail(string reason) => new(SaslStatus.Failure, null, reason);
}

/// <summary>What a mechanism may know of the connection (channel binding, the hostname for challenges).</summary>
public sealed record SaslContext(string Hostname, byte[]? TlsExporter = null, byte[]? TlsServerEndPoint = null);

/// <summary>
/// A server-side SASL exchange for one AUTH command. One class per mechanism; shared by SMTP AUTH (RFC 4954)
/// and POP3 AUTH (RFC 5034). The protocol handles base64, "=" for empty and "*" for cancel.
/// </summary>
public abstract class SaslMechanism
{
    public abstract string Name { get; }

    /// <summary>True for mechanisms whose first message comes from the server (CRAM-MD5): an initial response is then an error.</summary>
    public virtual bool ServerFirst => false;

    /// <summary>The authenticated identity (the full address) after Success.</summary>
    public string? AuthenticatedUser { get; protected set; }

    /// <summary>
    /// Advances the exchange. The first call gets the initial response (or empty when there was none);
    /// for ServerFirst mechanisms the first call gets empty input and returns the first challenge.
    /// </summary>
    public abstract SaslStep Step(ReadOnlySpan<byte> response);
}
