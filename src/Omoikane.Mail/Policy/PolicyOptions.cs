using System.Net;
using Omoikane.Mail.Config;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>What an SmtpdPolicy is built from: one service's parameters and the shared services.</summary>
public sealed record PolicyOptions
{
    public required Parameters Parameters { get; init; }
    /// <summary>Without a resolver the DNS restrictions answer "dunno" (and say so in the trace).</summary>
    public IDnsResolver? Dns { get; init; }
    public TableFactory Tables { get; init; } = new();
    public PopBeforeSmtpRegistry? PopBeforeSmtp { get; init; }
    /// <summary>Without it reject_unlisted_recipient/sender are no-ops, as Postfix with empty local_recipient_maps.</summary>
    public ILocalRecipients? LocalRecipients { get; init; }
    /// <summary>The server's own addresses: "user@[addr]" is a local destination only for these.</summary>
    public IReadOnlyCollection<IPAddress> LocalAddresses { get; init; } = [];
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
