using MimeKit.Cryptography;
using Omoikane.Mail.Dns;
using Org.BouncyCastle.Crypto;

namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>Finds DKIM public keys at SELECTOR._domainkey.DOMAIN (RFC 6376 §3.6.2.1) through the shared resolver.</summary>
public sealed class DkimDnsKeyLocator(IDnsResolver dns) : DkimPublicKeyLocatorBase
{
    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        => LocatePublicKeyAsync(methods, domain, selector, cancellationToken).GetAwaiter().GetResult();

    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
    {
        var name = $"{selector}._domainkey.{domain}";
        var answer = await dns.LookupTxtAsync(name, cancellationToken).ConfigureAwait(false);
        if (answer.Status == DnsStatus.TempFail) throw new DkimKeyLookupException(true, $"DNS temporary failure looking up {name}");
        // RFC 6376 §3.6.2.2: several records is undefined; take the first that looks like a key.
        var txt = answer.Records.FirstOrDefault(r => r.Contains("p=", StringComparison.Ordinal));
        if (txt is null) throw new DkimKeyLookupException(false, $"no key for signature at {name}");
        if (System.Text.RegularExpressions.Regex.IsMatch(txt, @"(^|;)\s*p=\s*(;|$)"))
            throw new DkimKeyLookupException(false, $"key revoked at {name}");
        try { return GetPublicKey(txt); }
        catch (Exception ex) when (ex is MimeKit.ParseException or FormatException or ArgumentException or NotSupportedException)
        {
            throw new DkimKeyLookupException(false, $"bad key record at {name}: {ex.Message}");
        }
    }
}
