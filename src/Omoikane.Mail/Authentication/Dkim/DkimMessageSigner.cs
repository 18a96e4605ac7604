using System.Text;
using MimeKit;
using MimeKit.Cryptography;

namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>
/// Signs messages with MimeKit's signer, relaxed/relaxed (RFC 6376 §3.4), over the usual header set;
/// the key is chosen by the domain of the From header (the domain itself or its closest configured parent).
/// </summary>
public sealed class DkimMessageSigner
{
    /// <summary>Headers signed when present (RFC 6376 §5.4.1); From always is.</summary>
    public static readonly string[] SignedHeaders =
        ["From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
         "Reply-To", "In-Reply-To", "References"];

    private readonly Dictionary<string, (DkimSigningKey Key, DkimSigner Signer)> _byDomain = new(StringComparer.OrdinalIgnoreCase);

    public DkimMessageSigner(IEnumerable<(DkimSigningKey Key, DkimSigner Signer)> signers)
    {
        foreach (var s in signers) _byDomain[s.Key.Domain] = s;
    }

    public int Count => _byDomain.Count;
    public IEnumerable<DkimSigningKey> Keys => _byDomain.Values.Select(v => v.Key);

    /// <summary>Loads a PEM key (PKCS#8 or PKCS#1); the algorithm follows the key type.</summary>
    public static DkimSigner LoadSigner(DkimSigningKey key)
    {
        var pem = File.ReadAllText(key.KeyPath);
        var algorithm = IsEd25519(pem) ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256;
        return new DkimSigner(key.KeyPath, key.Domain, key.Selector, algorithm)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
    }

    private static bool IsEd25519(string pem)
    {
        var start = pem.IndexOf("-----BEGIN PRIVATE KEY-----", StringComparison.Ordinal);
        if (start < 0) return false;
        var end = pem.IndexOf("-----END", start + 27, StringComparison.Ordinal);
        var der = Convert.FromBase64String(string.Concat(pem[(start + 27)..end].Where(c => !char.IsWhiteSpace(c))));
        var info = Org.BouncyCastle.Asn1.Pkcs.PrivateKeyInfo.GetInstance(der);
        return info.PrivateKeyAlgorithm.Algorithm.Equals(Org.BouncyCastle.Asn1.EdEC.EdECObjectIdentifiers.id_Ed25519);
    }

    /// <summary>The key for a From domain: the domain itself or its closest configured parent.</summary>
    public DkimSigningKey? KeyFor(string fromDomain)
    {
        var d = fromDomain.TrimEnd('.');
        while (d.Length > 0)
        {
            if (_byDomain.TryGetValue(d, out var s)) return s.Key;
            var dot = d.IndexOf('.');
            if (dot < 0) break;
            d = d[(dot + 1)..];
        }
        return null;
    }

    /// <summary>The DKIM-Signature header field (LF line ends, folded) for the message, or "" when no key applies.</summary>
    public string Sign(MimeMessage message)
    {
        if (message.From.Mailboxes.FirstOrDefault() is not { } from) return "";
        var domain = from.Domain;
        var key = KeyFor(domain);
        if (key is null) return "";
        var signer = _byDomain[key.Domain].Signer;
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Unix;
        // MimeKit keeps the Content-* fields of a parsed message with its body part.
        var headers = SignedHeaders.Where(h => message.Headers.Contains(h)
            || (h.StartsWith("Content-", StringComparison.Ordinal) && message.Body?.Headers.Contains(h) == true)).ToList();
        signer.Sign(options, message, headers);
        var field = message.Headers[0];
        if (field.Id != HeaderId.DkimSignature) return "";
        message.Headers.RemoveAt(0);
        var raw = Encoding.ASCII.GetString(field.RawValue).Replace("\r\n", "\n");
        if (!raw.EndsWith('\n')) raw += "\n";
        return field.Field + ":" + raw;
    }
}
