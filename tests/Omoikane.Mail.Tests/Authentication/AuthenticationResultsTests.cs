using System.Text;
using Omoikane.Mail.Authentication;

namespace Omoikane.Mail.Tests.Authentication;

/// <summary>Authentication-Results fields claiming our authserv-id are dropped (RFC 8601 §5); others are kept.</summary>
public sealed class AuthenticationResultsTests
{
    [Theory]
    [InlineData("mx.example.test; spf=pass", "mx.example.test")]
    [InlineData("  (comment) mx.example.test;dkim=pass", "mx.example.test")]
    [InlineData("mx.example.test 1; none", "mx.example.test")]
    [InlineData("\"mx.example.test\"; none", "mx.example.test")]
    [InlineData("(only a comment)", null)]
    public void FindsTheAuthServId(string value, string? expected) => Assert.Equal(expected, AuthenticationResultsHeader.AuthServIdOf(value));

    [Fact]
    public async Task DropsForgedFieldsOnlyInTheHeaderSection()
    {
        const string message =
            "Authentication-Results: MX.example.test;\n\tspf=pass smtp.mailfrom=ceo@bank.example;\n\tdmarc=pass header.from=bank.example\n" +
            "Received: from a by b\n" +
            "Authentication-Results: relay.elsewhere.example; spf=fail\n" +
            "authentication-results: (sneaky) mx.example.test; dkim=pass\n" +
            "Subject: hi\n" +
            "\n" +
            "Authentication-Results: mx.example.test; this is body text\n";
        var output = new MemoryStream();
        await HeaderSectionFilter.CopyAsync(new MemoryStream(Encoding.UTF8.GetBytes(message)), output,
            (name, value) => name.Equals("Authentication-Results", StringComparison.OrdinalIgnoreCase) && AuthenticationResultsHeader.ClaimsOurId(value, "mx.example.test"),
            CancellationToken.None);
        Assert.Equal(
            "Received: from a by b\n" +
            "Authentication-Results: relay.elsewhere.example; spf=fail\n" +
            "Subject: hi\n" +
            "\n" +
            "Authentication-Results: mx.example.test; this is body text\n", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public async Task CopiesEveryByteWhenNothingIsDropped()
    {
        var body = string.Concat(Enumerable.Range(0, 20000).Select(i => $"line {i}\n"));
        var message = "A: 1\nB: 2\n folded\n\n" + body;
        var output = new MemoryStream();
        await HeaderSectionFilter.CopyAsync(new MemoryStream(Encoding.UTF8.GetBytes(message)), output, (_, _) => false, CancellationToken.None);
        Assert.Equal(message, Encoding.UTF8.GetString(output.ToArray()));
    }
}
