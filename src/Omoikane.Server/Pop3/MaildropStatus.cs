namespace Omoikane.Server.Pop3;

/// <summary>The outcome of opening a maildrop: RFC 2449 §8.1.1 [IN-USE], RFC 3206 §4 [SYS/TEMP] for Failed.</summary>
public enum MaildropStatus { Ok, InUse, Failed }
