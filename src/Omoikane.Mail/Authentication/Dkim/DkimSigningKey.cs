namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>One configured signing identity: mail whose From domain is Domain (or below it) is signed with d=Domain s=Selector.</summary>
public sealed record DkimSigningKey(string Domain, string Selector, string KeyPath)
{
    /// <summary>The key file name inside dkim_key_directory: DOMAIN.SELECTOR.key.</summary>
    public static string FileName(string domain, string selector) => $"{domain}.{selector}.key";
}
