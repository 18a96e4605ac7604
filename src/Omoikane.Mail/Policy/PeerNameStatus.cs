namespace Omoikane.Mail.Policy;

/// <summary>
/// How the client hostname was found (Postfix smtpd_peer.c SMTPD_PEER_CODE_*): Ok, a temporary DNS
/// failure, no PTR record (Perm), or a PTR name that does not resolve back to the address (Forged).
/// Ordered as Postfix orders them: Forged counts as permanent.
/// </summary>
public enum PeerNameStatus { Ok = 0, Temp = 4, Perm = 5, Forged = 6 }
