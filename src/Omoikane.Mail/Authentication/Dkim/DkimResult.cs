namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>DKIM verification results as RFC 8601 §2.7.1 names them.</summary>
public enum DkimResult { None, Pass, Fail, Neutral, TempError, PermError }
