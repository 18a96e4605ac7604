namespace Omoikane.Server.Pop3;

/// <summary>One message of a maildrop as listed at login.</summary>
/// <param name="FileName">The file's name in cur/.</param>
/// <param name="Uid">The unique-id listing (RFC 1939 §7): the Maildir unique name.</param>
/// <param name="Size">The size in octets as the client receives it (CRLF line endings, before dot-stuffing).</param>
public readonly record struct MaildropMessage(string FileName, string Uid, long Size);
