using Omoikane.Mail.Config;

namespace Omoikane.Mail.Credentials;

/// <summary>How secrets are derived and which forms are kept.</summary>
public sealed record CredentialOptions
{
    /// <summary>
    /// Keep the password itself so that POP3 APOP (RFC 1939 §7) can work: APOP's digest is
    /// MD5(timestamp + secret), which can only be checked with the secret in hand. From
    /// <c>pop3d_apop_enable</c> (default yes). When false nothing reversible is stored, and a store
    /// rewrite drops secrets kept earlier.
    /// </summary>
    public bool StorePlaintextForApop { get; init; } = true;

    /// <summary>SCRAM-SHA-256 iteration count for new or changed passwords (RFC 7677 §4: at least 4096).</summary>
    public int ScramIterations { get; init; } = 10000;

    /// <summary>SCRAM salt length in bytes for new or changed passwords.</summary>
    public int ScramSaltLength { get; init; } = 16;

    public static CredentialOptions Default { get; } = new();

    /// <summary>The options a configuration implies (<c>pop3d_apop_enable</c>).</summary>
    public static CredentialOptions FromParameters(Parameters parameters)
        => new() { StorePlaintextForApop = IsYes(parameters.Get("pop3d_apop_enable")) };

    private static bool IsYes(string value)
        => value.Equals("yes", StringComparison.OrdinalIgnoreCase) || value.Equals("true", StringComparison.OrdinalIgnoreCase)
           || value == "1" || value.Equals("on", StringComparison.OrdinalIgnoreCase);
}
