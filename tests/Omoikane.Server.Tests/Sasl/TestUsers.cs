using Omoikane.Mail.Credentials;

namespace Omoikane.Server.Tests.Sasl;

/// <summary>Shared users: joe@example.org / tanstaaftanstaaf (RFC 2195's secret).</summary>
internal static class TestUsers
{
    public const string Joe = "joe@example.org";
    public const string JoePassword = "tanstaaftanstaaf";
    public const string Ann = "ann@example.org";
    public const string AnnPassword = "pencil";

    public static readonly CredentialOptions Fast = new() { ScramIterations = 4096 };

    public static MemoryUserStore Store()
    {
        var store = new MemoryUserStore(Fast);
        store.Add(Joe, JoePassword);
        store.Add(Ann, AnnPassword);
        return store;
    }
}

/// <summary>A store keyed by raw names, for RFC examples whose user names are not addresses.</summary>
internal sealed class RawNameStore(params UserRecord[] users) : IUserStore
{
    public UserRecord? Find(string address) => users.FirstOrDefault(u => u.Address == address);
    public IReadOnlyList<string> List() => users.Select(u => u.Address).ToArray();
    public void Add(string address, string password) => throw new NotSupportedException();
    public bool Delete(string address) => throw new NotSupportedException();
    public void SetPassword(string address, string password) => throw new NotSupportedException();
}

/// <summary>A store whose backend is down.</summary>
internal sealed class BrokenStore : IUserStore
{
    public UserRecord? Find(string address) => throw new IOException("disk on fire");
    public IReadOnlyList<string> List() => throw new IOException("disk on fire");
    public void Add(string address, string password) => throw new IOException("disk on fire");
    public bool Delete(string address) => throw new IOException("disk on fire");
    public void SetPassword(string address, string password) => throw new IOException("disk on fire");
}
