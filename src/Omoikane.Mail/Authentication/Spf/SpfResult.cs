namespace Omoikane.Mail.Authentication.Spf;

/// <summary>The results of check_host() (RFC 7208 §2.6), written in lower case in Authentication-Results.</summary>
public enum SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError }
