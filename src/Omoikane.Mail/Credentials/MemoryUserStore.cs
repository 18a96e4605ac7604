namespace Omoikane.Mail.Credentials;

/// <summary>An in-memory <see cref="IUserStore"/> for tests and for embedding; nothing is persisted.</summary>
public sealed class MemoryUserStore(CredentialOptions options) : IUserStore
{
    private readonly Dictionary<string, UserRecord> _users = new(UserAddress.Comparer);
    private readonly object _gate = new();

    public MemoryUserStore() : this(CredentialOptions.Default) { }

    public UserRecord? Find(string address)
    {
        if (string.IsNullOrEmpty(address) || address.Length > UserAddress.MaxLength * 4) return null;
        lock (_gate) return _users.GetValueOrDefault(address);
    }

    public IReadOnlyList<string> List()
    {
        lock (_gate) return _users.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    public void Add(string address, string password) => Put(UserRecord.Create(address, password, options));

    /// <summary>Adds a prepared record (e.g. one with a chosen salt, for protocol tests).</summary>
    public void Put(UserRecord user)
    {
        lock (_gate)
            if (!_users.TryAdd(user.Address, user)) throw new UserStoreException($"user {user.Address} already exists");
    }

    public bool Delete(string address)
    {
        if (!UserAddress.TryNormalize(address, out var canonical, out _)) return false;
        lock (_gate) return _users.Remove(canonical);
    }

    public void SetPassword(string address, string password)
    {
        var user = UserRecord.Create(address, password, options);
        lock (_gate)
        {
            if (!_users.ContainsKey(user.Address)) throw new UserStoreException($"no such user {user.Address}");
            _users[user.Address] = user;
        }
    }
}
