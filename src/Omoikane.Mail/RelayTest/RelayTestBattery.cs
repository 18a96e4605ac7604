namespace Omoikane.Mail.RelayTest;

/// <summary>
/// The open-relay battery. It covers the tests of the classic relay checkers (abuse.net "Mail relay
/// testing", the ORDB/MAPS relay-test, rlytest, RBL.JP's 19-test "third-party relay check", nmap's
/// smtp-open-relay): every attempt tries to get a message to <c>relaytest@TO-DOMAIN</c>, a domain the
/// server has no business relaying for, either plainly with senders a careless configuration trusts, or
/// with a recipient that only routes to TO-DOMAIN if the server honours a routing convention it should
/// not: the %-hack, UUCP bang paths, source routes (RFC 5321 §3.6.1, Appendix C), quoted local parts
/// holding an address (§4.1.2 Quoted-string), several '@', a trailing dot, upper case, address literals (§4.1.3).
/// </summary>
public static class RelayTestBattery
{
    public const string LocalPart = "relaytest";

    public static IReadOnlyList<RelayTestCase> Build(RelayTestTarget t)
    {
        const string u = LocalPart;
        var td = t.ToDomain;
        var h = t.HostName;
        var ip = t.AddressLiteral;
        var s = t.Sender;
        var list = new List<RelayTestCase>();
        void Add(string name, string from, string rcpt) => list.Add(new RelayTestCase(list.Count + 1, name, from, rcpt));

        // Senders: the recipient is plainly foreign; only the reverse-path varies.
        Add("plain relay", s, $"{u}@{td}");
        Add("null sender", "", $"{u}@{td}");                              // RFC 5321 §4.5.5
        Add("unqualified sender", u, $"{u}@{td}");
        Add("sender postmaster at the server's address", $"postmaster@{ip}", $"{u}@{td}");
        Add("sender at the server's host name", $"{u}@{h}", $"{u}@{td}");
        Add("sender at the server's domain", $"postmaster@{t.Domain}", $"{u}@{td}");
        Add("sender at localhost", $"{u}@localhost", $"{u}@{td}");

        // Recipients: spellings of the same foreign mailbox.
        Add("upper case", s, $"{u}@{td}".ToUpperInvariant());
        Add("trailing dot", s, $"{u}@{td}.");
        Add("address literal", s, $"{u}@{t.ToAddressLiteral}");

        // Recipients that route through the server: %-hack.
        Add("percent hack via host name", s, $"{u}%{td}@{h}");
        Add("percent hack via address", s, $"{u}%{td}@{ip}");
        Add("unqualified percent hack", s, $"{u}%{td}");

        // Quoted local parts that hold the foreign address (RFC 5321 §4.1.2 Quoted-string).
        Add("quoted address", s, $"\"{u}@{td}\"");
        Add("quoted percent hack", s, $"\"{u}%{td}\"");
        Add("quoted address via host name", s, $"\"{u}@{td}\"@{h}");
        Add("quoted percent hack via host name", s, $"\"{u}%{td}\"@{h}");

        // Several '@': the server may take the first domain as the destination.
        Add("double at via host name", s, $"{u}@{td}@{h}");
        Add("double at via address", s, $"{u}@{td}@{ip}");

        // Source routes (RFC 5321 §3.6.1 and Appendix C: "@relay:mailbox", to be ignored by servers).
        Add("source route via host name", s, $"@{h}:{u}@{td}");
        Add("source route via address", s, $"@{ip}:{u}@{td}");

        // UUCP bang paths.
        Add("bang path", s, $"{td}!{u}");
        Add("bang path via host name", s, $"{td}!{u}@{h}");
        Add("bang path via address", s, $"{td}!{u}@{ip}");
        return list;
    }
}
