using Omoikane.Mail.Logging;

namespace Omoikane.Mail.Tests.Logging;

public sealed class LogSessionNumbersTests
{
    [Fact]
    public void LiveSessionsHaveDistinctPositiveNumbersOtherThanTheProcessId()
    {
        var numbers = new LogSessionNumbers(1234);
        var live = Enumerable.Range(0, 1000).Select(_ => numbers.Allocate()).ToList();
        Assert.Equal(live.Count, live.Distinct().Count());
        Assert.All(live, n => Assert.True(n > 0 && n != 1234));
    }

    [Fact]
    public void NumbersWrapLikePidsAndSkipThoseStillInUse()
    {
        var numbers = new LogSessionNumbers(4_194_300);
        var held = numbers.Allocate();   // 4194301
        var seen = new List<int> { held };
        for (int i = 0; i < 5; i++) { var n = numbers.Allocate(); seen.Add(n); numbers.Release(n); }
        Assert.Equal([4_194_301, 4_194_302, 4_194_303, 1, 2, 3], seen);
        // Over a whole turn the held number and the process id are never given; released ones are.
        var again = false;
        for (int i = 0; i < 4_194_304; i++)
        {
            var n = numbers.Allocate();
            Assert.True(n != held && n != 4_194_300, $"{n} given twice");
            again |= n == 2;
            numbers.Release(n);
        }
        Assert.True(again);
    }
}
