using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Delivery;

/// <summary>The user accounts local delivery knows (the user store answers it).</summary>
public interface ILocalUsers
{
    /// <summary>The user's address as stored (any spelling with the same <see cref="Addressing.AddressKey"/> finds it), or null.</summary>
    string? Find(string address);
}

/// <summary>The users of an <see cref="IUserStore"/>.</summary>
public sealed class UserStoreUsers(IUserStore store) : ILocalUsers
{
    public string? Find(string address) => store.Find(address)?.Address;
}
