namespace Omoikane.Mail.Dns;

/// <summary>Outcome of one step of client name resolution (Postfix smtpd_peer.c: OK, PERM, TEMP).</summary>
public enum HostnameStatus { Ok, NotFound, TempFail }
