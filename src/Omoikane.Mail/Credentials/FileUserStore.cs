using System.Text;
using Omoikane.Mail.Queue;

namespace Omoikane.Mail.Credentials;

/// <summary>
/// Users in one text file (format: <see cref="UserFileFormat"/>), mode 0600. Changes rewrite the whole
/// file atomically (temp file, fsync, rename, directory fsync) under an in-process lock and an exclusive
/// lock on "FILE.lock", so the CLI and a running server can both write. Lookups notice a changed file
/// (modification time or size) and reload it, so "omoikane user add" takes effect without a restart.
/// </summary>
public sealed class FileUserStore : IUserStore
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _path;
    private readonly CredentialOptions _options;
    private readonly object _gate = new();
    private Snapshot _snapshot = Snapshot.Empty;

    public FileUserStore(string path, CredentialOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = Path.GetFullPath(path);
        _options = options;
    }

    public string FilePath => _path;

    public UserRecord? Find(string address)
    {
        // The dictionary compares by AddressKey: any spelling of the address (case, Unicode forms) finds it.
        if (string.IsNullOrEmpty(address) || address.Length > UserAddress.MaxLength * 4) return null;
        return Current().Users.GetValueOrDefault(address);
    }

    public IReadOnlyList<string> List()
        => Current().Users.Keys.Order(StringComparer.Ordinal).ToArray();

    public void Add(string address, string password)
    {
        var user = UserRecord.Create(address, password, _options);
        Mutate(users =>
        {
            if (!users.TryAdd(user.Address, user)) throw new UserStoreException($"user {user.Address} already exists");
            return true;
        });
    }

    public bool Delete(string address)
    {
        if (!UserAddress.TryNormalize(address, out var canonical, out _)) return false;
        return Mutate(users => users.Remove(canonical));
    }

    public void SetPassword(string address, string password)
    {
        var user = UserRecord.Create(address, password, _options);
        Mutate(users =>
        {
            if (!users.TryGetValue(user.Address, out var old)) throw new UserStoreException($"no such user {user.Address}");
            users[user.Address] = user with { Address = old.Address };
            return true;
        });
    }

    private Snapshot Current()
    {
        var stamp = Stamp.Of(_path);
        var snap = Volatile.Read(ref _snapshot);
        if (snap.Stamp == stamp)
            return snap.Error is null ? snap : throw new UserStoreException(snap.Error);
        lock (_gate)
        {
            stamp = Stamp.Of(_path);
            if (_snapshot.Stamp != stamp) Volatile.Write(ref _snapshot, Load(stamp));
            return _snapshot.Error is null ? _snapshot : throw new UserStoreException(_snapshot.Error);
        }
    }

    private Snapshot Load(Stamp stamp)
    {
        var users = new Dictionary<string, UserRecord>(UserAddress.Comparer);
        if (!stamp.Exists) return new Snapshot(stamp, users, null);
        string[] lines;
        try
        {
            using var fs = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(fs, new UTF8Encoding(false, true));
            lines = reader.ReadToEnd().Split('\n');
        }
        catch (FileNotFoundException) { return new Snapshot(stamp, users, null); }
        catch (DecoderFallbackException) { return new Snapshot(stamp, users, $"{_path}: not UTF-8 text"); }
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            UserRecord user;
            try { user = UserFileFormat.Parse(line); }
            catch (FormatException ex) { return new Snapshot(stamp, users, $"{_path} line {i + 1}: {ex.Message}"); }
            if (!users.TryAdd(user.Address, user))
                return new Snapshot(stamp, users, $"{_path} line {i + 1}: user {user.Address} listed twice");
        }
        return new Snapshot(stamp, users, null);
    }

    /// <summary>Reads the file afresh under both locks, applies the change, and writes it back when the change says so.</summary>
    private bool Mutate(Func<Dictionary<string, UserRecord>, bool> change)
    {
        lock (_gate)
        {
            var dir = Path.GetDirectoryName(_path)!;
            Directory.CreateDirectory(dir);
            using var fileLock = AcquireFileLock();
            var fresh = Load(Stamp.Of(_path));
            if (fresh.Error is not null) throw new UserStoreException(fresh.Error);
            var users = new Dictionary<string, UserRecord>(fresh.Users, UserAddress.Comparer);
            if (!change(users)) { Volatile.Write(ref _snapshot, fresh); return false; }
            if (!_options.StorePlaintextForApop)
                foreach (var (key, user) in users.ToArray())
                    if (user.ApopSecret is not null) users[key] = user with { ApopSecret = null };
            Write(dir, users.Values);
            Volatile.Write(ref _snapshot, Load(Stamp.Of(_path)));
            return true;
        }
    }

    private void Write(string dir, IEnumerable<UserRecord> users)
    {
        var sb = new StringBuilder(UserFileFormat.Header).Append('\n');
        foreach (var user in users.OrderBy(u => u.Address, StringComparer.Ordinal))
            sb.Append(UserFileFormat.Format(user)).Append('\n');
        var bytes = new UTF8Encoding(false).GetBytes(sb.ToString());
        var temp = Path.Combine(dir, $".{Path.GetFileName(_path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, CreateOptions(FileMode.CreateNew, FileAccess.Write)))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, _path, overwrite: true);
            DirectorySync.Flush(dir);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
        finally { Array.Clear(bytes); }
    }

    private FileStream AcquireFileLock()
    {
        var lockPath = _path + ".lock";
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            // An exclusive flock(2): other processes (the CLI, another server) wait.
            var held = FileLock.TryOpenExclusive(lockPath, CreateOptions(FileMode.OpenOrCreate, FileAccess.ReadWrite));
            if (held is not null) return held;
            if (DateTime.UtcNow >= deadline)
                throw new UserStoreException($"{lockPath}: locked by another process for over {LockTimeout.TotalSeconds:0}s");
            Thread.Sleep(20);
        }
    }

    private static FileStreamOptions CreateOptions(FileMode mode, FileAccess access)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        return options;
    }

    private readonly record struct Stamp(bool Exists, long Length, DateTime Modified)
    {
        public static Stamp Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new Stamp(true, info.Length, info.LastWriteTimeUtc) : default;
        }
    }

    private sealed record Snapshot(Stamp Stamp, IReadOnlyDictionary<string, UserRecord> Users, string? Error)
    {
        public static readonly Snapshot Empty = new(new Stamp(false, -1, default), new Dictionary<string, UserRecord>(), null);
    }
}
