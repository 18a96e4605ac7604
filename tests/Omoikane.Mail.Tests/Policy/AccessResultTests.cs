using Omoikane.Mail.Policy;

namespace Omoikane.Mail.Tests.Policy;

public class AccessResultTests
{
    [Theory]
    [InlineData("OK", AccessAction.Ok, 0, null, "")]
    [InlineData("relay", AccessAction.Ok, 0, null, "")]
    [InlineData("12345678", AccessAction.Ok, 0, null, "")]
    [InlineData("550", AccessAction.Ok, 0, null, "")] // all-numeric without text means OK, as in Postfix
    [InlineData("REJECT", AccessAction.Reject, 0, null, "")]
    [InlineData("reject go away", AccessAction.Reject, 0, null, "go away")]
    [InlineData("REJECT 5.7.2 go away", AccessAction.Reject, 0, "5.7.2", "go away")]
    [InlineData("DEFER try later", AccessAction.Defer, 0, null, "try later")]
    [InlineData("DEFER_IF_REJECT", AccessAction.DeferIfReject, 0, null, "")]
    [InlineData("DEFER_IF_PERMIT 4.7.1 wait", AccessAction.DeferIfPermit, 0, "4.7.1", "wait")]
    [InlineData("550 5.1.1 no such user", AccessAction.Code, 550, "5.1.1", "no such user")]
    [InlineData("450 greylisted", AccessAction.Code, 450, null, "greylisted")]
    [InlineData("DUNNO", AccessAction.Dunno, 0, null, "")]
    [InlineData("WARN suspicious", AccessAction.Warn, 0, null, "suspicious")]
    [InlineData("HOLD", AccessAction.Hold, 0, null, "")]
    [InlineData("PREPEND X-Test: yes", AccessAction.Prepend, 0, null, "X-Test: yes")]
    [InlineData("permit_mynetworks, reject", AccessAction.Restrictions, 0, null, "permit_mynetworks, reject")]
    [InlineData("check_client_access hash:/x", AccessAction.TableReference, 0, null, "check_client_access hash:/x")]
    [InlineData("650 bad code", AccessAction.Restrictions, 0, null, "650 bad code")]
    public void ParsesAccessResults(string value, AccessAction action, int code, string? enhanced, string text)
    {
        var r = AccessResult.Parse(value);
        Assert.Equal(action, r.Action);
        Assert.Equal(code, r.Code);
        Assert.Equal(enhanced, r.Enhanced);
        Assert.Equal(text, r.Text);
    }
}
