namespace Omoikane.Server.Pop3;

/// <summary>A held maildrop lock (<see cref="MaildropLocks"/>); disposing releases it.</summary>
public sealed class MaildropLock : IDisposable
{
    private readonly MaildropLocks _owner;
    private readonly string _key;
    private FileStream? _file;

    internal MaildropLock(MaildropLocks owner, string key, FileStream file)
    {
        _owner = owner;
        _key = key;
        _file = file;
    }

    public void Dispose()
    {
        var file = Interlocked.Exchange(ref _file, null);
        if (file is null) return;
        file.Dispose();
        _owner.Release(_key);
    }
}
