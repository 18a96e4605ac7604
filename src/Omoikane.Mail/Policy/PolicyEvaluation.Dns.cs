using System.Net;
using System.Net.Sockets;
using System.Text;
using Omoikane.Mail.Addressing;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Policy.Tables;

namespace Omoikane.Mail.Policy;

/// <summary>The DNS-based restrictions (smtpd_check.c reject_unknown_*, reject_rbl_*), through IDnsResolver.</summary>
internal sealed partial class PolicyEvaluation
{
    private const int RblTxtLimit = 500;

    private void TraceDns<T>(string type, string query, DnsAnswer<T> answer)
        => _trace?.Add(new PolicyTraceEntry(Stage, _recursion, "dns", answer.Status.ToString().ToLowerInvariant(),
            $"{type} {query}{(answer.Records.Count > 0 ? ": " + string.Join(", ", answer.Records) : "")}{(answer.Status == DnsStatus.TempFail && answer.Error is not null ? " (" + answer.Error + ")" : "")}"));

    private bool NoResolver(string what)
    {
        if (_policy.Options.Dns is not null) return false;
        Trace(what, "dunno", "no DNS resolver configured");
        return true;
    }

    /// <summary>reject_unknown_helo_hostname: the name needs an address (A/AAAA) or MX record; a null MX is fine for an MTA name.</summary>
    private async ValueTask<Status> RejectUnknownHostnameAsync(string name)
    {
        if (NoResolver("reject_unknown_helo_hostname")) return Status.Dunno;
        var dns = _policy.Options.Dns!;
        var query = HostnameSyntax.TruncateDot(name);
        var addrs = await dns.LookupAddressesAsync(query, _ct).ConfigureAwait(false);
        TraceDns("A/AAAA", query, addrs);
        if (addrs.Found) return Status.Dunno;
        var mx = await dns.LookupMxAsync(query, _ct).ConfigureAwait(false);
        TraceDns("MX", query, mx);
        if (mx.Found) return Status.Dunno;
        var p = _policy.Parameters;
        var text = $"<{name}>: {ReplyClass.Helo} rejected: Host not found";
        if (addrs.Status == DnsStatus.TempFail || mx.Status == DnsStatus.TempFail)
            return TempFailAction(p.Get("unknown_helo_hostname_tempfail_action"), 450, "4.7.1", text);
        return Reject(ErrorClass.Policy, p.GetInt("unknown_hostname_reject_code"), "4.7.1", text);
    }

    /// <summary>reject_unknown_sender_domain / reject_unknown_recipient_domain (reject_unknown_address, reject_unknown_mailhost).</summary>
    private async ValueTask<Status> RejectUnknownAddressAsync(MailAddress address, string replyClass)
    {
        if (address.Domain.Length == 0 || address.IsDomainLiteral) return Status.Dunno;
        var domain = address.DomainKey;
        var local = await _policy.Domains.IsLocalDomainAsync(domain, _ct).ConfigureAwait(false);
        if (local == LookupStatus.TempFail) return DictRetry(address.ToString());
        if (local == LookupStatus.Found) return Status.Dunno;
        if (NoResolver(replyClass == ReplyClass.Sender ? "reject_unknown_sender_domain" : "reject_unknown_recipient_domain")) return Status.Dunno;
        var dns = _policy.Options.Dns!;
        bool sender = replyClass == ReplyClass.Sender;
        var mx = await dns.LookupMxAsync(domain, _ct).ConfigureAwait(false);
        TraceDns("MX", domain, mx);
        if (mx.Found)
        {
            // RFC 7505: a single MX with root "." as exchange says the domain accepts no mail.
            if (mx.Records.Count == 1 && mx.Records[0].Exchange.TrimEnd('.').Length == 0)
                return Reject(ErrorClass.Policy, sender ? 550 : 556, sender ? "4.7.27" : "4.1.10",
                    $"<{address}>: {replyClass} rejected: Domain {domain} does not accept mail (nullMX)");
            return Status.Dunno;
        }
        var addrs = await dns.LookupAddressesAsync(domain, _ct).ConfigureAwait(false);
        TraceDns("A/AAAA", domain, addrs);
        if (addrs.Found) return Status.Dunno;
        var p = _policy.Parameters;
        var dsn = sender ? "4.1.8" : "4.1.2";
        var text = $"<{address}>: {replyClass} rejected: Domain not found";
        if (mx.Status == DnsStatus.TempFail || addrs.Status == DnsStatus.TempFail)
            return TempFailAction(p.Get("unknown_address_tempfail_action"), 450, dsn, text);
        return Reject(ErrorClass.Policy, p.GetInt("unknown_address_reject_code"), dsn, text);
    }

    /// <summary>reject_rbl_client zone[=d.d.d.d]: the reversed client address under the zone.</summary>
    private async ValueTask<Status> RejectRblAddressAsync(Restriction r, string address)
    {
        if (NoResolver(r.ToString())) return Status.Dunno;
        if (!IPAddress.TryParse(address, out var ip)) return Status.Dunno;
        var sb = new StringBuilder();
        var bytes = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
            for (int i = bytes.Length - 1; i >= 0; i--) sb.Append($"{bytes[i] & 0xf:x}.{bytes[i] >> 4:x}.");
        else
            for (int i = 3; i >= 0; i--) sb.Append(bytes[i]).Append('.');
        return await RblLookupAsync(r, sb.ToString(), address, ReplyClass.Client).ConfigureAwait(false);
    }

    /// <summary>reject_rhsbl_*: the domain of a name or address under the zone.</summary>
    private async ValueTask<Status> RejectRblDomainAsync(Restriction r, string what, string replyClass)
    {
        if (NoResolver(r.ToString())) return Status.Dunno;
        var at = what.LastIndexOf('@');
        var domain = (at >= 0 ? what[(at + 1)..] : what).TrimEnd('.');
        if (domain.Length == 0 || domain.StartsWith('[')) return Status.Dunno;
        var lastDot = domain.LastIndexOf('.');
        if ((lastDot < 0 ? domain : domain[(lastDot + 1)..]).All(char.IsAsciiDigit)) return Status.Dunno;
        if (!HostnameSyntax.IsValidHostname(domain)) return Status.Dunno;
        return await RblLookupAsync(r, domain.ToLowerInvariant() + ".", what, replyClass).ConfigureAwait(false);
    }

    private async ValueTask<Status> RblLookupAsync(Restriction r, string prefix, string what, string replyClass)
    {
        var dns = _policy.Options.Dns!;
        var arg = r.Argument!;
        var eq = arg.IndexOf('=');
        var zone = eq < 0 ? arg : arg[..eq];
        var query = prefix + zone;
        var answer = await dns.LookupAddressesAsync(query, _ct).ConfigureAwait(false);
        TraceDns("A", query, answer);
        if (answer.Status == DnsStatus.TempFail)
        {
            // No definitive answer: give the client the benefit of the doubt (smtpd_check.c rbl_pagein).
            Log.Add(new PolicyLogEntry("warning", $"{query}: RBL lookup error: {answer.Error ?? "temporary failure"}"));
            return Status.Dunno;
        }
        if (!answer.Found) return Status.Dunno;
        var v4 = answer.Records.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToList();
        if (r.ReplyFilter is { } filter ? !v4.Any(filter.Matches) : v4.Count == 0) return Status.Dunno;

        var txt = await dns.LookupTxtAsync(query, _ct).ConfigureAwait(false);
        TraceDns("TXT", query, txt);
        var reason = new StringBuilder();
        if (txt.Found)
        {
            foreach (var record in txt.Records)
            {
                if (reason.Length >= RblTxtLimit) break;
                // Text from the DNS list's zone goes into a one-line SMTP reply and the log: a CR LF in it
                // would start another reply line; controls become '?' as Postfix's printable() writes them.
                var t = Logging.LogText.Printable(record);
                if (reason.Length > 0) reason.Append(" / ");
                reason.Append(t.Length > RblTxtLimit - reason.Length ? t[..(RblTxtLimit - reason.Length)] : t);
            }
        }
        // default_rbl_reply: $rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}
        var text = $"Service unavailable; {replyClass} [{what}] blocked using {zone}{(reason.Length > 0 ? "; " + reason : "")}";
        return Reject(ErrorClass.Policy, _policy.Parameters.GetInt("maps_rbl_reject_code"), FixDsn("4.7.1", replyClass), text);
    }
}
