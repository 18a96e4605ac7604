using Omoikane.Mail.Addressing;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>
/// Answers whether a recipient in a local (mydestination) domain exists: the user store, alias_maps
/// and recipient_delimiter are the implementer's business. TempFail becomes "451 4.3.0".
/// </summary>
public interface ILocalRecipients
{
    ValueTask<LookupStatus> ExistsAsync(MailAddress recipient, CancellationToken cancellationToken = default);
}
