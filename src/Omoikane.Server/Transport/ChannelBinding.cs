using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Omoikane.Server.Transport;

/// <summary>TLS channel-binding data for SCRAM-*-PLUS (RFC 5929 tls-server-end-point, RFC 9266 tls-exporter).</summary>
public static class ChannelBinding
{
    /// <summary>Hash of the server certificate with its signature hash (SHA-256 for MD5/SHA-1), RFC 5929 §4.1.</summary>
    public static byte[]? TlsServerEndPoint(SslStream tls)
    {
        if (tls.LocalCertificate is not { } local) return null;
        using var cert = new X509Certificate2(local);
        var oid = cert.SignatureAlgorithm.Value ?? "";
        byte[] raw = cert.RawData;
        return oid switch
        {
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => SHA384.HashData(raw),
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => SHA512.HashData(raw),
            _ => SHA256.HashData(raw),
        };
    }

    /// <summary>tls-exporter (RFC 9266) — not exposed by SslStream; null means "not available".</summary>
    public static byte[]? TlsExporter(SslStream tls) => null;
}
