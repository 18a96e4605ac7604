namespace Omoikane.Mail.Authentication.Dmarc;

/// <summary>The p= and sp= values (RFC 7489 §6.3).</summary>
public enum DmarcPolicy { None, Quarantine, Reject }
