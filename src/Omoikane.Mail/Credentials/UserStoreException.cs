namespace Omoikane.Mail.Credentials;

/// <summary>A user store operation that cannot be done: the message is one line, fit for the CLI's stderr.</summary>
public sealed class UserStoreException : Exception
{
    public UserStoreException(string message) : base(message) { }
    public UserStoreException(string message, Exception inner) : base(message, inner) { }
}
