using System.Text;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// The users file: UTF-8 text, one user per line, blank lines and lines starting with "#" ignored.
/// <code>
/// address:scheme=value[:scheme=value...]
/// scram-sha-256=ITERATIONS,SALT,STOREDKEY,SERVERKEY   (RFC 5802 §3; binary fields base64)
/// cram-md5=INNER,OUTER                               (HMAC-MD5 contexts: 16-byte MD5 states, base64)
/// apop=SECRET                                         (the password, UTF-8 then base64; only with APOP enabled)
/// </code>
/// An address is a dot-atom local part and a host name, so it never contains ":". Unknown schemes
/// are refused rather than dropped, so that a newer file is not silently stripped by an older server.
/// </summary>
internal static class UserFileFormat
{
    public const string Header = "# Omoikane users: address:scheme=value... (see docs/credentials.md). Mode 0600.";

    public static string Format(UserRecord user)
    {
        var sb = new StringBuilder(user.Address);
        if (user.Scram is { } s)
            sb.Append(":scram-sha-256=").Append(s.Iterations).Append(',')
              .Append(Convert.ToBase64String(s.Salt)).Append(',')
              .Append(Convert.ToBase64String(s.StoredKey)).Append(',')
              .Append(Convert.ToBase64String(s.ServerKey));
        if (user.CramMd5 is { } c)
            sb.Append(":cram-md5=").Append(Convert.ToBase64String(c.Inner)).Append(',').Append(Convert.ToBase64String(c.Outer));
        if (user.ApopSecret is { } a)
            sb.Append(":apop=").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(a)));
        return sb.ToString();
    }

    /// <summary>Parses one non-comment line; throws <see cref="FormatException"/> with the reason.</summary>
    public static UserRecord Parse(string line)
    {
        var fields = line.Split(':');
        if (!UserAddress.TryNormalize(fields[0], out var address, out var error)) throw new FormatException(error);
        ScramCredential? scram = null;
        CramMd5Credential? cram = null;
        string? apop = null;
        foreach (var field in fields.AsSpan(1))
        {
            int eq = field.IndexOf('=');
            if (eq <= 0) throw new FormatException("a field is not scheme=value");
            var scheme = field[..eq];
            var value = field[(eq + 1)..];
            try
            {
                switch (scheme)
                {
                    case "scram-sha-256" when scram is null:
                        var p = value.Split(',');
                        if (p.Length != 4 || !int.TryParse(p[0], System.Globalization.NumberStyles.None, null, out int iterations))
                            throw new FormatException("scram-sha-256 wants ITERATIONS,SALT,STOREDKEY,SERVERKEY");
                        scram = new ScramCredential(iterations, Convert.FromBase64String(p[1]), Convert.FromBase64String(p[2]), Convert.FromBase64String(p[3]));
                        break;
                    case "cram-md5" when cram is null:
                        var q = value.Split(',');
                        if (q.Length != 2) throw new FormatException("cram-md5 wants INNER,OUTER");
                        cram = new CramMd5Credential(Convert.FromBase64String(q[0]), Convert.FromBase64String(q[1]));
                        break;
                    case "apop" when apop is null:
                        apop = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(value));
                        break;
                    default:
                        throw new FormatException($"unknown or repeated scheme '{Truncate(scheme)}'");
                }
            }
            catch (DecoderFallbackException) { throw new FormatException($"{scheme}: not UTF-8"); }
            catch (ArgumentException ex) { throw new FormatException($"{scheme}: {ex.Message}"); }
        }
        return new UserRecord(address, scram, cram, apop);
    }

    // Never echo a whole field: it may be a secret.
    private static string Truncate(string s) => s.Length <= 16 ? s : s[..16] + "...";
}
