namespace Omoikane.Mail.Credentials;

/// <summary>
/// One virtual user and the secrets kept for each mechanism (null where not kept).
/// </summary>
/// <param name="Address">The canonical login name (<see cref="UserAddress.Normalize"/>).</param>
/// <param name="Scram">SCRAM-SHA-256 verifier; also checks PLAIN, LOGIN and POP3 USER/PASS.</param>
/// <param name="CramMd5">The HMAC-MD5 contexts for CRAM-MD5.</param>
/// <param name="ApopSecret">
/// The password itself, kept only for POP3 APOP when <see cref="CredentialOptions.StorePlaintextForApop"/>
/// is set: APOP cannot work from anything less. Whoever reads it has the user's password.
/// </param>
public sealed record UserRecord(string Address, ScramCredential? Scram, CramMd5Credential? CramMd5, string? ApopSecret)
{
    /// <summary>Derives every secret the options call for from a new password.</summary>
    /// <exception cref="UserStoreException">The address or the password is not acceptable.</exception>
    public static UserRecord Create(string address, string password, CredentialOptions options)
    {
        var canonical = UserAddress.Normalize(address);
        if (string.IsNullOrEmpty(password)) throw new UserStoreException("password is empty");
        if (password.Contains('\n') || password.Contains('\r') || password.Contains('\0'))
            throw new UserStoreException("password contains a line break or NUL");
        if (options.ScramIterations < ScramCredential.MinIterations)
            throw new UserStoreException($"SCRAM iteration count {options.ScramIterations} is below {ScramCredential.MinIterations} (RFC 7677)");
        ScramCredential scram;
        try { scram = ScramCredential.Create(password, options.ScramIterations, options.ScramSaltLength); }
        catch (ArgumentException ex) { throw new UserStoreException(ex.Message); }
        return new UserRecord(canonical, scram, CramMd5Credential.Derive(password),
            options.StorePlaintextForApop ? password : null);
    }
}
