using Omoikane.Mail.Config;

namespace Omoikane.Mail.Queue;

/// <summary>Queue manager settings from main.cf (qmgr(8) parameters).</summary>
public sealed record QueueManagerOptions
{
    public required string MyHostname { get; init; }
    public string MailName { get; init; } = "Omoikane";
    public TimeSpan MinimalBackoff { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan MaximalBackoff { get; init; } = TimeSpan.FromSeconds(4000);
    public TimeSpan QueueRunDelay { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan MaximalQueueLifetime { get; init; } = TimeSpan.FromDays(5);
    public TimeSpan BounceQueueLifetime { get; init; } = TimeSpan.FromDays(5);
    public TimeSpan DelayWarningTime { get; init; } = TimeSpan.Zero;
    public int Workers { get; init; } = 64;
    /// <summary>command_time_limit: how long an alias "|command" may run.</summary>
    public TimeSpan CommandTimeLimit { get; init; } = TimeSpan.FromSeconds(1000);
    /// <summary>mailbox_size_limit: the largest Maildir message file and mbox file (0: none).</summary>
    public long MailboxSizeLimit { get; init; } = 51_200_000;
    /// <summary>virtual_mailbox_limit: the largest Maildir message file (0: none).</summary>
    public long VirtualMailboxLimit { get; init; } = 51_200_000;

    public static QueueManagerOptions From(Parameters p) => new()
    {
        MyHostname = p.Get("myhostname"),
        MailName = p.Get("mail_name"),
        MinimalBackoff = p.GetTime("minimal_backoff_time"),
        MaximalBackoff = p.GetTime("maximal_backoff_time"),
        QueueRunDelay = p.GetTime("queue_run_delay"),
        MaximalQueueLifetime = p.GetTime("maximal_queue_lifetime"),
        BounceQueueLifetime = p.GetTime("bounce_queue_lifetime"),
        DelayWarningTime = p.GetTime("delay_warning_time"),
        CommandTimeLimit = p.GetTime("command_time_limit"),
        MailboxSizeLimit = p.GetSize("mailbox_size_limit"),
        VirtualMailboxLimit = p.GetSize("virtual_mailbox_limit"),
    };
}
