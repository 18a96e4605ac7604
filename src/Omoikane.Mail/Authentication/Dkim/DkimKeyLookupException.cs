namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>
/// Thrown by <see cref="DkimDnsKeyLocator"/> through MimeKit's verifier, whose locator interface has no
/// other way to say "no key" (permerror, RFC 6376 §6.1.2) apart from "DNS temporarily failed" (temperror).
/// </summary>
public sealed class DkimKeyLookupException(bool temporary, string message) : Exception(message)
{
    public bool Temporary { get; } = temporary;
}
