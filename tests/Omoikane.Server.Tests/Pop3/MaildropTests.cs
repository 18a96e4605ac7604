using System.Diagnostics;
using Omoikane.Server.Pop3;

namespace Omoikane.Server.Tests.Pop3;

public sealed class MaildropTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("omoikane-maildrop-").FullName;
    private const string User = "Carol@Example.ORG";

    public void Dispose()
    {
        try { Directory.Delete(_base, recursive: true); } catch (IOException) { }
    }

    private string Dir => Maildrop.MailboxPath(_base, User);

    private void Put(string folder, string name, string content = "x\n")
    {
        Directory.CreateDirectory(Path.Combine(Dir, folder));
        File.WriteAllText(Path.Combine(Dir, folder, name), content);
    }

    private Maildrop OpenOk(MaildropLocks? locks = null)
    {
        var status = Maildrop.Open(_base, User, locks ?? new MaildropLocks(), out var drop, out var error);
        Assert.True(status == MaildropStatus.Ok, error);
        return drop!;
    }

    [Fact]
    public void MailboxPathIsLowerCasedDomainThenLocal()
        => Assert.Equal(Path.Combine(_base, "example.org", "carol"), Dir);

    [Theory]
    [InlineData("kate@example.org", "\u212Aate@Example.ORG")]
    [InlineData("kate@example.org", "\uFF4B\uFF41\uFF54\uFF45@example.org")]
    public void MaildropAndDeliveryNameOneMaildirForEverySpelling(string a, string b)
    {
        Assert.Equal(Maildrop.MailboxPath(_base, a), Maildrop.MailboxPath(_base, b));
        Assert.Equal(Omoikane.Mail.Delivery.Maildir.MaildirWriter.MailboxPath(_base, "example.org", "kate"), Maildrop.MailboxPath(_base, b));
    }

    [Fact]
    public void MaildropLocksOfDifferentNamesNeverCollide()
    {
        // Names no user can have (the store refuses '/'), as a second line of defence: distinct Maildirs, distinct locks.
        var locks = new MaildropLocks();
        Assert.NotEqual(Maildrop.MailboxPath(_base, "a/b@example.org"), Maildrop.MailboxPath(_base, "a_b@example.org"));
        Assert.Equal(MaildropStatus.Ok, Maildrop.Open(_base, "a/b@example.org", locks, out var first, out _));
        Assert.Equal(MaildropStatus.Ok, Maildrop.Open(_base, "a_b@example.org", locks, out var second, out _));
        Assert.StartsWith(_base, Maildrop.MailboxPath(_base, "..@.."));
        Assert.Equal(_base, Path.GetDirectoryName(Path.GetDirectoryName(Maildrop.MailboxPath(_base, "..@.."))));
        first!.Dispose();
        second!.Dispose();
    }

    [Theory]
    [InlineData("1700000000.M1P2Q3.host,S=10,W=12:2,S", "1700000000.M1P2Q3.host", 12L)]
    [InlineData("1700000000.M1P2Q3.host,S=10,W=12", "1700000000.M1P2Q3.host", 12L)]
    [InlineData("1700000000.M1P2Q3.host:2,", "1700000000.M1P2Q3.host", null)]
    [InlineData("1700000000.M1P2Q3.host,S=10", "1700000000.M1P2Q3.host", null)]
    [InlineData("weird,W=x", "weird", null)]
    public void NamesGiveUniqueNameAndSize(string name, string unique, long? size)
    {
        Assert.Equal(unique, Maildrop.UniqueName(name));
        Assert.Equal(size, Maildrop.SizeFromName(name));
    }

    [Fact]
    public void UidsOutsideRfc1939SyntaxAreHashed()
    {
        Assert.Equal("abc", Maildrop.UidFor("abc"));
        var hashed = Maildrop.UidFor(new string('a', 71));
        Assert.Equal(32, hashed.Length);
        Assert.Equal(hashed, Maildrop.UidFor(new string('a', 71)));
        Assert.Equal(32, Maildrop.UidFor("has space").Length);
    }

    [Fact]
    public void NewMessagesMoveToCurAndListInDeliveryOrder()
    {
        Put("new", "1700000010.M5P1Q1.h,S=2,W=3");
        Put("new", "1700000002.M900P1Q2.h,S=2,W=3");
        Put("cur", "1700000002.M10P1Q3.h,S=2,W=3:2,S");
        Put("new", ".hidden");
        using var drop = OpenOk();
        Assert.Equal(new[] { "1700000002.M10P1Q3.h", "1700000002.M900P1Q2.h", "1700000010.M5P1Q1.h" },
            Enumerable.Range(1, drop.Total).Select(n => drop[n].Uid));
        Assert.Equal(new[] { ".hidden" }, Directory.GetFiles(Path.Combine(Dir, "new")).Select(Path.GetFileName));
        Assert.Contains("1700000010.M5P1Q1.h,S=2,W=3:2,", Directory.GetFiles(Path.Combine(Dir, "cur")).Select(Path.GetFileName));
    }

    [Fact]
    public void SizeWithoutWFieldIsCountedFromTheFile()
    {
        Put("cur", "1.M1P1Q1.h:2,", "a\nb\r\nc");   // 6 octets: one bare LF (+1), no final newline (+2)
        using var drop = OpenOk();
        Assert.Equal(9, drop[1].Size);
    }

    [Fact]
    public void LargeMaildropIsListedFromNamesAlone()
    {
        // Empty files whose names claim 1000 octets: the listing must take the name's word for it.
        Directory.CreateDirectory(Path.Combine(Dir, "new"));
        for (int i = 0; i < 10_000; i++)
            File.WriteAllBytes(Path.Combine(Dir, "new", $"{1700000000 + i}.M{i}P1Q{i}.h,S=990,W=1000"), []);
        var watch = Stopwatch.StartNew();
        using var drop = OpenOk();
        watch.Stop();
        Assert.Equal(10_000, drop.Count);
        Assert.Equal(10_000_000, drop.Size);
        Assert.Equal("1700000000.M0P1Q0.h", drop[1].Uid);
        Assert.Equal("1700009999.M9999P1Q9999.h", drop[10_000].Uid);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"listing took {watch.Elapsed}");
    }

    [Fact]
    public void SecondOpenIsInUseInTheSameProcessAndThroughTheLockFile()
    {
        var locks = new MaildropLocks();
        using (var first = OpenOk(locks))
        {
            Assert.Equal(MaildropStatus.InUse, Maildrop.Open(_base, User, locks, out _, out _));
            // Another registry stands for another process: only the lock file keeps it out.
            Assert.Equal(MaildropStatus.InUse, Maildrop.Open(_base, User, new MaildropLocks(), out _, out _));
            Assert.True(File.Exists(Path.Combine(Dir, MaildropLocks.LockFileName)));
        }
        Assert.Equal(0, locks.Count);
        using var again = OpenOk(locks);
    }

    [Fact]
    public void OnlyMarkedMessagesAreRemovedAndOnlyOnCommit()
    {
        Put("new", "1.M1P1Q1.h,S=2,W=3");
        Put("new", "2.M1P1Q2.h,S=2,W=3");
        Put("new", "3.M1P1Q3.h,S=2,W=3");
        using (var drop = OpenOk())
        {
            Assert.True(drop.MarkDeleted(2));
            Assert.False(drop.MarkDeleted(2));
            Assert.False(drop.MarkDeleted(4));
            Assert.Equal(2, drop.Count);
            Assert.Equal(6, drop.Size);
            drop.ResetDeletions();
            Assert.Equal(3, drop.Count);
            drop.MarkDeleted(1);
            drop.MarkDeleted(3);
        }
        Assert.Equal(3, Directory.GetFiles(Path.Combine(Dir, "cur")).Length);   // disposed without commit
        using (var drop = OpenOk())
        {
            drop.MarkDeleted(1);
            drop.MarkDeleted(3);
            Assert.Equal(0, drop.CommitDeletions());
        }
        Assert.Equal(new[] { "2.M1P1Q2.h,S=2,W=3:2," }, Directory.GetFiles(Path.Combine(Dir, "cur")).Select(Path.GetFileName));
    }
}
