using System.Net;
using Omoikane.Mail.Policy;

namespace Omoikane.Server.Smtp;

/// <summary>The Postfix restriction engine (<see cref="SmtpdPolicy"/>) bound to one session's state.</summary>
public sealed class SmtpdPolicySession(SmtpdPolicy policy) : ISmtpPolicy
{
    private readonly PolicySessionState _state = new();

    private static PolicyAnswer Answer(PolicyResult r, PolicyContext ctx, string where)
    {
        var warnings = r.Log.Count == 0 ? null : r.Log.Select(l => l.Format(ctx, where)).ToList();
        return r.IsAccepted ? PolicyAnswer.Accept(warnings) : PolicyAnswer.Refuse(r.Decision.Reply!.Value, warnings);
    }

    public async ValueTask<PolicyAnswer> CheckClientAsync(PolicyContext c, CancellationToken ct)
        => Answer(await policy.CheckClientAsync(c, _state, null, ct).ConfigureAwait(false), c, "CONNECT");

    public async ValueTask<PolicyAnswer> CheckHeloAsync(PolicyContext c, CancellationToken ct)
        => Answer(await policy.CheckHeloAsync(c, _state, null, ct).ConfigureAwait(false), c, c.Protocol == "SMTP" ? "HELO" : "EHLO");

    public async ValueTask<PolicyAnswer> CheckSenderAsync(PolicyContext c, CancellationToken ct)
        => Answer(await policy.CheckSenderAsync(c, _state, null, ct).ConfigureAwait(false), c, "MAIL");

    public async ValueTask<PolicyAnswer> CheckRecipientAsync(PolicyContext c, CancellationToken ct)
        => Answer(await policy.CheckRecipientAsync(c, _state, null, ct).ConfigureAwait(false), c, "RCPT");

    public async ValueTask<PolicyAnswer> CheckDataAsync(PolicyContext c, CancellationToken ct)
        => Answer(await policy.CheckDataAsync(c, null, ct).ConfigureAwait(false), c, "DATA");

    public async ValueTask<PolicyAnswer> CheckEndOfDataAsync(PolicyContext c, CancellationToken ct)
        => Answer(await policy.CheckEndOfDataAsync(c, null, ct).ConfigureAwait(false), c, "END-OF-MESSAGE");

    public bool IsTrustedNetwork(IPAddress address) => policy.MyNetworks.Networks.Any(n => n.Contains(address));

    public async ValueTask<bool> IsBareNewlineExcludedAsync(IPAddress address, CancellationToken ct)
        => await policy.BareNewlineExclusions.MatchAsync(address, ct).ConfigureAwait(false) == Mail.Policy.Tables.LookupStatus.Found;
}
