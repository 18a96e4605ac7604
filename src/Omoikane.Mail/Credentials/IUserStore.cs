namespace Omoikane.Mail.Credentials;

/// <summary>
/// The virtual users. Addresses are matched case-insensitively. The file store is the default;
/// a relational store can replace it without touching the protocol code.
/// Implementations are thread-safe. Errors are <see cref="UserStoreException"/> (one-line messages)
/// for refused operations and <see cref="IOException"/> for storage failures (a temporary failure to a client).
/// </summary>
public interface IUserStore
{
    /// <summary>The user, or null when there is none.</summary>
    UserRecord? Find(string address);

    /// <summary>All canonical addresses, sorted.</summary>
    IReadOnlyList<string> List();

    /// <exception cref="UserStoreException">Invalid address or password, or the user exists.</exception>
    void Add(string address, string password);

    /// <summary>False when there was no such user.</summary>
    bool Delete(string address);

    /// <exception cref="UserStoreException">Invalid password, or no such user.</exception>
    void SetPassword(string address, string password);
}
