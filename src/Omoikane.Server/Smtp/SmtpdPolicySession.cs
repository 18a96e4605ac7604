using System.Net;
using Omoikane.Mail.Policy;

namespace Omoikane.Server.Smtp;

/// <summary>The Postfix restriction engine (<see cref="SmtpdPolicy"/>) bound to one session's state.</summary>
public sealed class SmtpdPolicySession(SmtpdPolicy policy) : ISmtpPolicy
{
    private readonly PolicySessionState _state = new();

    private static PolicyContext Context(SmtpPolicyInput i) => new()
    {
        ClientAddress = i.ClientAddress,
        ClientName = i.Client.Name, ClientNameStatus = i.Client.NameStatus,
        ReverseClientName = i.Client.ReverseName, ReverseClientNameStatus = i.Client.ReverseNameStatus,
        HeloName = i.Helo, Sender = i.Sender, Recipient = i.Recipient,
        SaslUsername = i.SaslUsername, SaslMethod = i.SaslMethod, Tls = i.Tls, Protocol = i.Protocol,
        QueueId = i.QueueId, RecipientCount = i.RecipientCount,
    };

    private static PolicyAnswer Answer(PolicyResult r, PolicyContext ctx, string where)
    {
        var warnings = r.Log.Count == 0 ? null : r.Log.Select(l => l.Format(ctx, where)).ToList();
        return r.IsAccepted ? PolicyAnswer.Accept(warnings) : PolicyAnswer.Refuse(r.Decision.Reply!.Value, warnings);
    }

    public async ValueTask<PolicyAnswer> CheckClientAsync(SmtpPolicyInput input, CancellationToken ct)
    { var c = Context(input); return Answer(await policy.CheckClientAsync(c, _state, null, ct).ConfigureAwait(false), c, "CONNECT"); }

    public async ValueTask<PolicyAnswer> CheckHeloAsync(SmtpPolicyInput input, CancellationToken ct)
    { var c = Context(input); return Answer(await policy.CheckHeloAsync(c, _state, null, ct).ConfigureAwait(false), c, input.Protocol == "SMTP" ? "HELO" : "EHLO"); }

    public async ValueTask<PolicyAnswer> CheckSenderAsync(SmtpPolicyInput input, CancellationToken ct)
    { var c = Context(input); return Answer(await policy.CheckSenderAsync(c, _state, null, ct).ConfigureAwait(false), c, "MAIL"); }

    public async ValueTask<PolicyAnswer> CheckRecipientAsync(SmtpPolicyInput input, CancellationToken ct)
    { var c = Context(input); return Answer(await policy.CheckRecipientAsync(c, _state, null, ct).ConfigureAwait(false), c, "RCPT"); }

    public async ValueTask<PolicyAnswer> CheckDataAsync(SmtpPolicyInput input, CancellationToken ct)
    { var c = Context(input); return Answer(await policy.CheckDataAsync(c, null, ct).ConfigureAwait(false), c, "DATA"); }

    public async ValueTask<PolicyAnswer> CheckEndOfDataAsync(SmtpPolicyInput input, CancellationToken ct)
    { var c = Context(input); return Answer(await policy.CheckEndOfDataAsync(c, null, ct).ConfigureAwait(false), c, "END-OF-MESSAGE"); }

    public bool IsTrustedNetwork(IPAddress address) => policy.MyNetworks.Networks.Any(n => n.Contains(address));
}
