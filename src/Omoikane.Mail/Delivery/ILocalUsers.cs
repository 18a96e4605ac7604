namespace Omoikane.Mail.Delivery;

/// <summary>The user accounts local delivery knows (the user store answers it).</summary>
public interface ILocalUsers
{
    bool Exists(string address);
}
