using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Sasl;

/// <summary>
/// The mechanisms a service offers and the factory for one exchange. SCRAM-SHA-256-PLUS is offered
/// (first) whenever SCRAM-SHA-256 is enabled and the connection has channel binding data.
/// <paramref name="fakeSalt"/> gives SCRAM's salts for unknown users (null: a secret of this process only).
/// </summary>
public sealed class SaslMechanisms(IUserStore users, SaslOptions options, ScramFakeSalt? fakeSalt = null)
{
    public const string Plain = "PLAIN";
    public const string Login = "LOGIN";
    public const string CramMd5 = "CRAM-MD5";
    public const string ScramSha256 = "SCRAM-SHA-256";
    public const string ScramSha256Plus = "SCRAM-SHA-256-PLUS";

    /// <summary>Every mechanism this server implements.</summary>
    public static IReadOnlySet<string> Known { get; } = new HashSet<string>(StringComparer.Ordinal)
        { Plain, Login, CramMd5, ScramSha256, ScramSha256Plus };

    public SaslOptions Options => options;

    /// <summary>True for mechanisms that send the password itself.</summary>
    public static bool IsPlaintext(string name) => name is Plain or Login;

    /// <summary>The names to advertise (EHLO AUTH, POP3 CAPA SASL), in order of preference.</summary>
    public IReadOnlyList<string> Offered(SaslContext context)
    {
        var security = context.IsTls ? options.TlsSecurity : options.Security;
        var offered = new List<string>();
        foreach (var name in options.Mechanisms)
        {
            if (IsPlaintext(name) && security.HasFlag(SaslSecurityOptions.NoPlaintext)) continue;
            if (name is ScramSha256 or ScramSha256Plus && context.HasChannelBinding && !offered.Contains(ScramSha256Plus))
                offered.Add(ScramSha256Plus);
            if (name is ScramSha256Plus) continue;   // only with channel binding data, added above
            if (!offered.Contains(name)) offered.Add(name);
        }
        return offered;
    }

    /// <summary>A new exchange for <paramref name="name"/> (case-insensitive), or null when it is not offered here.</summary>
    public SaslMechanism? Create(string name, SaslContext context)
    {
        var offered = Offered(context);
        var upper = name.ToUpperInvariant();
        if (!offered.Contains(upper)) return null;
        return upper switch
        {
            Plain => new PlainMechanism(users),
            Login => new LoginMechanism(users),
            CramMd5 => new CramMd5Mechanism(users, context),
            ScramSha256 => new ScramSha256Mechanism(users, context, plus: false, plusOffered: offered.Contains(ScramSha256Plus), fakeSalt),
            ScramSha256Plus => new ScramSha256Mechanism(users, context, plus: true, plusOffered: true, fakeSalt),
            _ => null,
        };
    }
}
