using Omoikane.Mail.Config;

namespace Omoikane.Server.Sasl;

/// <summary>Which SASL mechanisms a service offers, with and without TLS.</summary>
/// <param name="Mechanisms">smtpd_sasl_mechanisms, upper-case, in order of preference.</param>
/// <param name="Security">smtpd_sasl_security_options (plaintext sessions).</param>
/// <param name="TlsSecurity">smtpd_sasl_tls_security_options (sessions under TLS).</param>
/// <param name="Warnings">Unknown mechanism or option names, one line each, for the log.</param>
public sealed record SaslOptions(
    IReadOnlyList<string> Mechanisms,
    SaslSecurityOptions Security,
    SaslSecurityOptions TlsSecurity,
    IReadOnlyList<string> Warnings)
{
    public static SaslOptions Default { get; } = FromParameters(Parameters.Defaults());

    public static SaslOptions FromParameters(Parameters parameters)
    {
        var warnings = new List<string>();
        var mechanisms = new List<string>();
        foreach (var raw in Split(parameters.Get("smtpd_sasl_mechanisms")))
        {
            var name = raw.ToUpperInvariant();
            if (!SaslMechanisms.Known.Contains(name)) warnings.Add($"smtpd_sasl_mechanisms: unknown mechanism {raw} ignored");
            else if (!mechanisms.Contains(name)) mechanisms.Add(name);
        }
        var plainValue = parameters.Get("smtpd_sasl_security_options");
        var tlsValue = parameters.Get("smtpd_sasl_tls_security_options");
        var security = ParseSecurity("smtpd_sasl_security_options", plainValue, warnings);
        // The TLS list defaults to "$smtpd_sasl_security_options": warn about a bad word once, not twice.
        var tlsSecurity = tlsValue == plainValue ? security : ParseSecurity("smtpd_sasl_tls_security_options", tlsValue, warnings);
        return new SaslOptions(mechanisms, security, tlsSecurity, warnings);
    }

    /// <summary>Parses a Postfix security option list; unknown names are reported in <paramref name="warnings"/>.</summary>
    public static SaslSecurityOptions ParseSecurity(string parameter, string value, List<string> warnings)
    {
        var result = SaslSecurityOptions.None;
        foreach (var word in Split(value))
        {
            switch (word.ToLowerInvariant())
            {
                case "noanonymous": result |= SaslSecurityOptions.NoAnonymous; break;
                case "noplaintext": result |= SaslSecurityOptions.NoPlaintext; break;
                case "noactive": result |= SaslSecurityOptions.NoActive; break;
                case "nodictionary": result |= SaslSecurityOptions.NoDictionary; break;
                case "mutual_auth": result |= SaslSecurityOptions.MutualAuth; break;
                case "forward_secrecy": result |= SaslSecurityOptions.ForwardSecrecy; break;
                default: warnings.Add($"{parameter}: unknown option {word} ignored"); break;
            }
        }
        return result;
    }

    private static string[] Split(string value)
        => value.Split([' ', '\t', ',', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
}
