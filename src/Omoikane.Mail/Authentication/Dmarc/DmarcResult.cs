namespace Omoikane.Mail.Authentication.Dmarc;

/// <summary>DMARC results as RFC 7489 §11.2 registers them for Authentication-Results.</summary>
public enum DmarcResult { None, Pass, Fail, TempError, PermError }
