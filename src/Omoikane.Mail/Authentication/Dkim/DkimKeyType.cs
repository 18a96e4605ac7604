namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>Signing key types: RSA (RFC 6376 §3.3, rsa-sha256) and Ed25519 (RFC 8463, ed25519-sha256).</summary>
public enum DkimKeyType { Rsa, Ed25519 }
