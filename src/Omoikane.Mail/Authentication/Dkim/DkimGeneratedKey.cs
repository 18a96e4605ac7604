namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>A new key: the private key as PKCS#8 PEM and the DNS TXT record that publishes its public half.</summary>
public sealed record DkimGeneratedKey(string PrivateKeyPem, string TxtRecord, DkimKeyType Type)
{
    /// <summary>The TXT record split into strings of at most 255 octets (RFC 1035 §3.3.14), as a zone file line wants.</summary>
    public string ZoneLine(string domain, string selector)
    {
        var parts = new List<string>();
        for (int i = 0; i < TxtRecord.Length; i += 255) parts.Add("\"" + TxtRecord.Substring(i, Math.Min(255, TxtRecord.Length - i)) + "\"");
        return $"{selector}._domainkey.{domain} IN TXT {string.Join(' ', parts)}";
    }
}
