using System.Text;
using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public sealed class FileUserStoreTests : IDisposable
{
    private static readonly CredentialOptions Fast = new() { ScramIterations = 4096 };
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omoikane-users-" + Guid.NewGuid().ToString("N"));
    private string UsersFile => Path.Combine(_dir, "users");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void MissingFileIsAnEmptyStore()
    {
        var store = new FileUserStore(UsersFile, Fast);
        Assert.Null(store.Find("joe@example.org"));
        Assert.Empty(store.List());
        Assert.False(store.Delete("joe@example.org"));
    }

    [SkippableFact]
    public void FileIsCreatedOwnerReadWriteOnly()
    {
        Skip.If(OperatingSystem.IsWindows());
        new FileUserStore(UsersFile, Fast).Add("joe@example.org", "secret");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(UsersFile));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void UsersRoundTripThroughTheFile()
    {
        var a = new FileUserStore(UsersFile, Fast);
        a.Add("joe@Example.ORG", "secret");
        a.Add("ann@example.org", "pässwörd");

        var b = new FileUserStore(UsersFile, Fast);
        Assert.Equal(["ann@example.org", "joe@example.org"], b.List());
        var joe = b.Find("JOE@example.org");
        Assert.NotNull(joe);
        Assert.Equal("joe@example.org", joe.Address);
        Assert.True(PasswordVerifier.VerifyPassword(joe, "secret"));
        Assert.True(PasswordVerifier.VerifyPassword(b.Find("ann@example.org"), "pässwörd"));
        Assert.Equal(a.Find("joe@example.org")!.CramMd5!.Inner.ToArray(), joe.CramMd5!.Inner.ToArray());
        Assert.Equal("secret", joe.ApopSecret);
    }

    [Fact]
    public void AddExistingUserFailsWhateverTheCase()
    {
        var store = new FileUserStore(UsersFile, Fast);
        store.Add("joe@example.org", "one");
        var ex = Assert.Throws<UserStoreException>(() => store.Add("Joe@EXAMPLE.org", "two"));
        Assert.Contains("already exists", ex.Message);
        Assert.True(PasswordVerifier.VerifyPassword(store.Find("joe@example.org"), "one"));
    }

    [Fact]
    public void InvalidInputGivesOneLineErrors()
    {
        var store = new FileUserStore(UsersFile, Fast);
        Assert.Contains("empty", Assert.Throws<UserStoreException>(() => store.Add("joe@example.org", "")).Message);
        Assert.Throws<UserStoreException>(() => store.Add("not-an-address", "x"));
        Assert.Throws<UserStoreException>(() => store.Add("joe@example.org", "line\nbreak"));
        Assert.Contains("no such user", Assert.Throws<UserStoreException>(() => store.SetPassword("ghost@example.org", "x")).Message);
        Assert.False(File.Exists(UsersFile));
    }

    [Fact]
    public void SetPasswordAndDelete()
    {
        var store = new FileUserStore(UsersFile, Fast);
        store.Add("joe@example.org", "old");
        store.SetPassword("JOE@example.org", "new");
        var joe = new FileUserStore(UsersFile, Fast).Find("joe@example.org");
        Assert.True(PasswordVerifier.VerifyPassword(joe, "new"));
        Assert.False(PasswordVerifier.VerifyPassword(joe, "old"));
        Assert.True(store.Delete("joe@EXAMPLE.org"));
        Assert.False(store.Delete("joe@example.org"));
        Assert.Null(new FileUserStore(UsersFile, Fast).Find("joe@example.org"));
    }

    [Fact]
    public void RunningStoreSeesUsersAddedByAnotherInstance()
    {
        var server = new FileUserStore(UsersFile, Fast);
        Assert.Null(server.Find("joe@example.org"));            // caches "no file"
        new FileUserStore(UsersFile, Fast).Add("joe@example.org", "secret");   // as the CLI would
        Assert.NotNull(server.Find("joe@example.org"));
        new FileUserStore(UsersFile, Fast).Delete("joe@example.org");
        Assert.Null(server.Find("joe@example.org"));
    }

    [Fact]
    public void RunningStoreSeesAnEditedFile()
    {
        var server = new FileUserStore(UsersFile, Fast);
        server.Add("joe@example.org", "secret");
        Assert.NotNull(server.Find("joe@example.org"));
        var text = File.ReadAllText(UsersFile).Replace("joe@example.org", "jim@example.org");
        File.WriteAllText(UsersFile, text);
        File.SetLastWriteTimeUtc(UsersFile, DateTime.UtcNow.AddSeconds(5));
        Assert.Null(server.Find("joe@example.org"));
        Assert.True(PasswordVerifier.VerifyPassword(server.Find("jim@example.org"), "secret"));
    }

    [Fact]
    public void ConcurrentAddsFromTwoThreadsAndTwoInstancesLoseNothing()
    {
        var a = new FileUserStore(UsersFile, Fast);
        var b = new FileUserStore(UsersFile, Fast);
        var t1 = Task.Run(() => { for (int i = 0; i < 15; i++) a.Add($"a{i}@example.org", "pw"); });
        var t2 = Task.Run(() => { for (int i = 0; i < 15; i++) b.Add($"b{i}@example.org", "pw"); });
        var t3 = Task.Run(() => { for (int i = 0; i < 15; i++) a.Add($"c{i}@example.org", "pw"); });
        Task.WaitAll(t1, t2, t3);
        Assert.Equal(45, new FileUserStore(UsersFile, Fast).List().Count);
    }

    [Fact]
    public void NothingReversibleIsStoredWhenApopIsOff()
    {
        const string password = "correct horse battery staple";
        var store = new FileUserStore(UsersFile, Fast with { StorePlaintextForApop = false });
        store.Add("joe@example.org", password);
        var text = File.ReadAllText(UsersFile);
        Assert.DoesNotContain(password, text);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(password)), text);
        Assert.DoesNotContain("apop=", text);
        Assert.Null(store.Find("joe@example.org")!.ApopSecret);
        Assert.True(PasswordVerifier.VerifyPassword(store.Find("joe@example.org"), password));
    }

    [Fact]
    public void ApopSecretIsStoredWhenApopIsOnAndDroppedOnRewriteWhenTurnedOff()
    {
        new FileUserStore(UsersFile, Fast).Add("joe@example.org", "secret");
        Assert.Contains("apop=", File.ReadAllText(UsersFile));
        new FileUserStore(UsersFile, Fast with { StorePlaintextForApop = false }).Add("ann@example.org", "x");
        Assert.DoesNotContain("apop=", File.ReadAllText(UsersFile));
        Assert.True(PasswordVerifier.VerifyPassword(new FileUserStore(UsersFile, Fast).Find("joe@example.org"), "secret"));
    }

    [Fact]
    public void DamagedFileNamesTheLineAndDoesNotEchoSecrets()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(UsersFile, "# comment\n\njoe@example.org:apop=!!notbase64secret!!\n");
        var store = new FileUserStore(UsersFile, Fast);
        var ex = Assert.Throws<UserStoreException>(() => store.Find("joe@example.org"));
        Assert.Contains("line 3", ex.Message);
        Assert.DoesNotContain("notbase64secret", ex.Message);
        Assert.Throws<UserStoreException>(() => store.Add("ann@example.org", "x"));   // never overwrite what it cannot read
    }

    [Fact]
    public void UnknownSchemeIsRefused()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(UsersFile, "joe@example.org:argon2=xyz\n");
        Assert.Throws<UserStoreException>(() => new FileUserStore(UsersFile, Fast).List());
    }

    [Theory]
    [InlineData("a/b@example.org")]          // would share the Maildir of a_b
    [InlineData("a:b@example.org")]          // the file's field separator
    [InlineData("a\nb@example.org")]         // the file's record separator
    [InlineData("a\rb@example.org")]
    [InlineData("#a@example.org")]           // would be read back as a comment: the user would vanish
    public void NamesThatCannotBeStoredOneToOneAreRefusedAndTheFileIsUntouched(string address)
    {
        var store = new FileUserStore(UsersFile, Fast);
        store.Add("a_b@example.org", "pw");
        var before = File.ReadAllBytes(UsersFile);
        var ex = Assert.Throws<UserStoreException>(() => store.Add(address, "pw"));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal(before, File.ReadAllBytes(UsersFile));
        Assert.Equal(["a_b@example.org"], new FileUserStore(UsersFile, Fast).List());
    }

    [Fact]
    public void SpellingsOfOneAddressFindOneUser()
    {
        var store = new FileUserStore(UsersFile, Fast);
        store.Add("Kate@example.org", "pw");
        Assert.Equal("Kate@example.org", store.Find("\u212Aate@EXAMPLE.org")?.Address);
        Assert.Equal("Kate@example.org", store.Find("\uFF4B\uFF41\uFF54\uFF45@example.org")?.Address);
        Assert.Throws<UserStoreException>(() => store.Add("kate@example.org", "pw"));
        Assert.Null(store.Find("ka\u0308te@example.org"));
    }

    [Fact]
    public void ALegacyLineWithASlashIsReportedWithFileAndLine()
    {
        var good = new FileUserStore(UsersFile, Fast);
        good.Add("joe@example.org", "pw");
        File.AppendAllText(UsersFile, File.ReadAllLines(UsersFile)[1].Replace("joe@", "a/b@") + "\n");
        var ex = Assert.Throws<UserStoreException>(() => new FileUserStore(UsersFile, Fast).Find("joe@example.org"));
        Assert.Contains($"{UsersFile} line 3:", ex.Message);
        Assert.Contains("'/'", ex.Message);
    }
}
