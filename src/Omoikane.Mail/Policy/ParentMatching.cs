using Omoikane.Mail.Config;

namespace Omoikane.Mail.Policy;

/// <summary>
/// parent_domain_matches_subdomains (postconf(5)): for the features listed, "example.com" also
/// matches its subdomains; for the others only ".example.com" does. Postfix's default lists
/// relay_domains and smtpd_access_maps among others.
/// </summary>
public static class ParentMatching
{
    public const string PostfixDefault =
        "debug_peer_list, fast_flush_domains, mynetworks, permit_mx_backup_networks, qmqpd_authorized_clients, relay_domains, smtpd_access_maps";

    public static bool Matches(Parameters parameters, string feature)
    {
        var value = parameters.IsExplicit("parent_domain_matches_subdomains")
            ? parameters.Get("parent_domain_matches_subdomains")
            : PostfixDefault;
        return Parameters.SplitList(value).Contains(feature, StringComparer.OrdinalIgnoreCase);
    }
}
