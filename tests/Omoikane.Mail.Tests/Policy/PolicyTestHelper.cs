using System.Net;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Config;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Tests.Policy;

internal static class PolicyTestHelper
{
    public static Parameters Params(string mainCf)
    {
        var diags = new ConfigDiagnostics();
        var entries = MainCf.Parse(mainCf, "main.cf", diags);
        Assert.Empty(diags.Errors);
        return new Parameters(entries);
    }

    public static MailAddress Addr(string text)
    {
        Assert.Equal(PathError.None, PathParser.ParseMailbox(text, true, out var a));
        return a;
    }

    public static SmtpdPolicy Build(string mainCf, IDnsResolver? dns = null, ILocalRecipients? users = null,
        PopBeforeSmtpRegistry? pop = null, TableFactory? tables = null, IEnumerable<IPAddress>? localAddresses = null, TimeProvider? time = null)
    {
        var diags = new ConfigDiagnostics();
        var policy = SmtpdPolicy.Create(new PolicyOptions
        {
            Parameters = Params(mainCf),
            Dns = dns,
            LocalRecipients = users,
            PopBeforeSmtp = pop,
            Tables = tables ?? new TableFactory(),
            LocalAddresses = (localAddresses ?? []).ToList(),
            TimeProvider = time ?? TimeProvider.System,
        }, diags);
        Assert.True(!diags.HasErrors, string.Join("\n", diags.Items));
        return policy;
    }

    public static PolicyContext Ctx(string ip = "192.0.2.1", string? helo = "client.example", string? from = "sender@example.org", string? to = null,
        string name = "unknown")
        => new()
        {
            ClientAddress = IPAddress.Parse(ip),
            ClientName = name,
            ClientNameStatus = name == "unknown" ? PeerNameStatus.Perm : PeerNameStatus.Ok,
            ReverseClientName = name,
            ReverseClientNameStatus = name == "unknown" ? PeerNameStatus.Perm : PeerNameStatus.Ok,
            HeloName = helo,
            Sender = from is null ? null : from == "" ? MailAddress.Null : Addr(from),
            Recipient = to is null ? null : Addr(to),
        };

    public static async Task<string> Rcpt(SmtpdPolicy policy, PolicyContext ctx, PolicySessionState? state = null)
    {
        var r = await policy.CheckRecipientAsync(ctx, state ?? new PolicySessionState());
        return r.Decision.ToString();
    }

    public static string TempFile(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), "omoikane-policy-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, content);
        return path;
    }
}

internal sealed class FakeLocalRecipients(params string[] users) : ILocalRecipients
{
    private readonly HashSet<string> _users = new(users, StringComparer.OrdinalIgnoreCase);
    public bool TempFail { get; set; }

    public ValueTask<LookupStatus> ExistsAsync(MailAddress recipient, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(TempFail ? LookupStatus.TempFail
            : _users.Contains($"{recipient.LocalPart}@{recipient.DomainKey}") ? LookupStatus.Found : LookupStatus.NotFound);
}

/// <summary>A table that always fails temporarily (a database that is down).</summary>
internal sealed class TempFailTable(string name) : ILookupTable
{
    public string Name { get; } = name;
    public ValueTask<LookupResult> LookupAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult(LookupResult.TempFail);
}
