using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Delivery;

public enum DeliveryStatus
{
    Sent,
    Deferred,
    Bounced,
    /// <summary>The transport hands the recipient back to local delivery (transport_maps "local:"); the queue manager delivers it to its Maildir.</summary>
    Local,
}

/// <summary>
/// What happened to one recipient in one attempt, with what Postfix logs for it:
/// relay (e.g. "local", "mx.example[192.0.2.1]:25"), dsn ("2.0.0"), the status text, and the
/// connection-setup and transmission parts of "delays=a/b/c/d". Agent names the delivery agent the line is
/// logged as when it is not smtp or local ("error", "discard").
/// </summary>
public sealed record RecipientOutcome(
    QueueRecipient Recipient, DeliveryStatus Status, string Dsn, string Relay, string Text,
    TimeSpan Setup = default, TimeSpan Transmission = default, string? Agent = null);

/// <summary>Delivery to other hosts (the SMTP client). The queue manager hands it the remote recipients of one message.</summary>
public interface IRemoteTransport
{
    Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(QueueMessageFile message, IReadOnlyList<QueueRecipient> recipients, CancellationToken ct);
}

/// <summary>Used until a remote transport is configured: remote recipients stay in the queue, deferred.</summary>
public sealed class DeferringRemoteTransport : IRemoteTransport
{
    public Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(QueueMessageFile message, IReadOnlyList<QueueRecipient> recipients, CancellationToken ct)
        => Task.FromResult<IReadOnlyList<RecipientOutcome>>(recipients.Select(r =>
            new RecipientOutcome(r, DeliveryStatus.Deferred, "4.3.2", "none", "delivery temporarily suspended: remote delivery is not available")).ToList());
}
