namespace Omoikane.Server.Sasl;

/// <summary>
/// What SMTP and POP3 need from the SASL layer: the mechanisms to announce in a given state, and a new
/// exchange for one of them.
/// </summary>
public interface ISaslProvider
{
    /// <summary>Mechanisms to offer, given whether the connection is encrypted.</summary>
    IReadOnlyList<string> Mechanisms(bool tls);
    /// <summary>A new exchange, or null when the mechanism is not offered in this state.</summary>
    SaslMechanism? Create(string name, bool tls, SaslContext context);
}
