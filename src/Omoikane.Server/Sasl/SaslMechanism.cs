using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

public enum SaslStatus { Continue, Success, Failure, TempFail }

/// <summary>One step's outcome (Postfix xsasl.h: continue / done / fail / temp fail).</summary>
/// <param name="Challenge">Server data to send (raw bytes, base64-encoded by the protocol) when Continue,
/// or additional success data (SCRAM's server-final) when Success. A Failure may carry SCRAM's
/// "e=" server-final too; protocols may send it or drop it.</param>
public readonly record struct SaslStep(SaslStatus Status, byte[]? Challenge = null, string? Reason = null)
{
    public static SaslStep Fail(string reason) => new(SaslStatus.Failure, null, reason);
}

/// <summary>What a mechanism may know of the connection (channel binding, the hostname for challenges).</summary>
/// <param name="Hostname">The server's name, for CRAM-MD5 challenges (myhostname).</param>
/// <param name="TlsExporter">RFC 9266 "tls-exporter" channel binding data (TLS 1.3), when the connection has it.</param>
/// <param name="TlsServerEndPoint">RFC 5929 §4 "tls-server-end-point" data (the certificate hash), when known.</param>
/// <param name="Tls">The connection is under TLS (selects smtpd_sasl_tls_security_options). Implied by channel binding data.</param>
public sealed record SaslContext(string Hostname, byte[]? TlsExporter = null, byte[]? TlsServerEndPoint = null, bool Tls = false)
{
    public bool IsTls => Tls || TlsExporter is not null || TlsServerEndPoint is not null;

    public bool HasChannelBinding => TlsExporter is not null || TlsServerEndPoint is not null;
}

/// <summary>
/// A server-side SASL exchange for one AUTH command. One class per mechanism; shared by SMTP AUTH (RFC 4954)
/// and POP3 AUTH (RFC 5034). The protocol handles base64, "=" for empty and "*" for cancel.
/// Storage failures become TempFail; after Success or Failure every further step fails.
/// </summary>
public abstract class SaslMechanism : IDisposable
{
    /// <summary>Longest single client message a mechanism accepts (the protocols cap lines well below this).</summary>
    public const int MaxMessageLength = 4096;

    public abstract string Name { get; }

    /// <summary>True for mechanisms whose first message comes from the server (CRAM-MD5): an initial response is then an error.</summary>
    public virtual bool ServerFirst => false;

    /// <summary>True when the password crosses the wire as is (PLAIN, LOGIN): "noplaintext" excludes these.</summary>
    public virtual bool Plaintext => false;

    /// <summary>The user name the client gave, as given, once the exchange has it (for the failed-login throttle); null before.</summary>
    public string? AttemptedUser { get; protected set; }

    /// <summary>The authenticated identity (the full address) after Success.</summary>
    public string? AuthenticatedUser { get; protected set; }

    /// <summary>True once the exchange reached Success, Failure or TempFail.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>
    /// Advances the exchange. The first call gets the initial response (or empty when there was none);
    /// for ServerFirst mechanisms the first call gets empty input and returns the first challenge.
    /// </summary>
    public SaslStep Step(ReadOnlySpan<byte> response)
    {
        if (IsCompleted) return SaslStep.Fail("exchange already completed");
        SaslStep step;
        if (response.Length > MaxMessageLength) step = SaslStep.Fail("message too long");
        else
        {
            try { step = StepCore(response); }
            catch (Exception ex) when (ex is UserStoreException or IOException or UnauthorizedAccessException)
            {
                step = new SaslStep(SaslStatus.TempFail, null, "user store unavailable: " + ex.Message);
            }
        }
        if (step.Status != SaslStatus.Continue) IsCompleted = true;
        if (step.Status != SaslStatus.Success) AuthenticatedUser = null;
        return step;
    }

    /// <summary>One step of the mechanism proper; the base class enforces completion and the length cap.</summary>
    protected abstract SaslStep StepCore(ReadOnlySpan<byte> response);

    /// <summary>Strict UTF-8 decoding (RFC 4616 §2, RFC 5802 §5.1: messages are UTF-8); false on invalid input or NUL.</summary>
    protected static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, out string text)
    {
        text = "";
        if (bytes.Contains((byte)0)) return false;
        try { text = StrictUtf8.GetString(bytes); return true; }
        catch (DecoderFallbackException) { return false; }
    }

    protected static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Clears any key material a mechanism holds.</summary>
    protected virtual void Dispose(bool disposing) { }
}
