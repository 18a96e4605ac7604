namespace Omoikane.Mail.Credentials;

/// <summary>
/// smtpd_sasl_local_domain as Cyrus SASL realms had it: a login name without '@' ("joe") means
/// "joe@realm". Wraps the user store that every login path reads (SMTP AUTH PLAIN, LOGIN, CRAM-MD5,
/// SCRAM-SHA-256; POP3 USER/PASS, APOP and AUTH), so that all of them qualify names the same way;
/// the authenticated identity is then the user's full address.
/// </summary>
public sealed class LoginRealmUserStore(IUserStore inner, string realm) : IUserStore
{
    /// <summary>The store itself when no realm is set, else the qualifying wrapper.</summary>
    public static IUserStore Wrap(IUserStore store, string realm) => realm.Trim().Length == 0 ? store : new LoginRealmUserStore(store, realm.Trim());

    /// <summary>"joe" → "joe@realm"; a name with '@' is unchanged.</summary>
    public string Qualify(string login) => login.Contains('@') || login.Length == 0 ? login : $"{login}@{realm}";

    public UserRecord? Find(string address) => inner.Find(Qualify(address));
    public IReadOnlyList<string> List() => inner.List();
    public void Add(string address, string password) => inner.Add(Qualify(address), password);
    public bool Delete(string address) => inner.Delete(Qualify(address));
    public void SetPassword(string address, string password) => inner.SetPassword(Qualify(address), password);
}
