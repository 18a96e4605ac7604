using MimeKit;
using Omoikane.Mail.Authentication.Dkim;
using Omoikane.Mail.Authentication.Dmarc;
using Omoikane.Mail.Authentication.Spf;
using Omoikane.Mail.Dns;
using Omoikane.Mail.Smtp;

namespace Omoikane.Mail.Authentication;

/// <summary>
/// Sender authentication for one server: DKIM-signs mail from our own users and networks, and checks
/// SPF, DKIM and DMARC on mail from outside, every lookup through the shared resolver. Works on a finished
/// message in a seekable stream (LF line ends), which MimeKit parses without loading bodies into memory.
/// </summary>
public sealed class MessageAuthentication
{
    private readonly AuthenticationOptions _options;
    private readonly DkimMessageSigner _signer;
    private readonly SpfChecker _spf;
    private readonly DkimChecker _dkim;
    private readonly DmarcEvaluator _dmarc;

    public MessageAuthentication(AuthenticationOptions options, DkimMessageSigner signer, IDnsResolver dns, Func<int>? dmarcSample = null)
    {
        _options = options;
        _signer = signer;
        _spf = new SpfChecker(dns, options.AuthServId);
        _dkim = new DkimChecker(dns);
        _dmarc = new DmarcEvaluator(dns, dmarcSample);
    }

    /// <summary>Loads the configured keys; a key that cannot be read is reported and its domain left unsigned.</summary>
    public static MessageAuthentication Create(AuthenticationOptions options, IDnsResolver dns, ICollection<string> problems, Func<int>? dmarcSample = null)
    {
        var signers = new List<(DkimSigningKey, MimeKit.Cryptography.DkimSigner)>();
        foreach (var key in options.SigningKeys)
        {
            try { signers.Add((key, DkimMessageSigner.LoadSigner(key))); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidCastException or Org.BouncyCastle.Security.SecurityUtilityException or Org.BouncyCastle.OpenSsl.PemException)
            {
                problems.Add($"dkim_signing_domains: cannot load key {key.KeyPath} for {key.Domain}: {ex.Message}; mail from {key.Domain} is not signed");
            }
        }
        return new MessageAuthentication(options, new DkimMessageSigner(signers), dns, dmarcSample);
    }

    public AuthenticationOptions Options => _options;
    public bool SignsMail => _signer.Count > 0;
    public bool ChecksMail => _options.InboundChecks;

    /// <summary>Signs our own mail: a DKIM-Signature at the top when a key matches the From domain.</summary>
    public async ValueTask<AuthenticationVerdict> SignAsync(Stream message, CancellationToken ct = default)
    {
        var parsed = await ParseAsync(message, ct).ConfigureAwait(false);
        var header = _signer.Sign(parsed);
        if (header.Length == 0) return AuthenticationVerdict.Nothing;
        var tags = DkimTags.Parse(header[(header.IndexOf(':') + 1)..]);
        return new AuthenticationVerdict(header, false) { Signed = $"d={tags.GetValueOrDefault("d")} s={tags.GetValueOrDefault("s")}" };
    }

    /// <summary>
    /// Checks mail from outside: SPF on the envelope, DKIM on the content, DMARC on the From domain; the
    /// Authentication-Results field goes at the top and forged ones are dropped. With smtpd_dmarc_reject = yes
    /// a DMARC failure whose disposition is reject is refused with 550 5.7.1.
    /// </summary>
    public async ValueTask<AuthenticationVerdict> CheckAsync(InboundContext context, Stream message, CancellationToken ct = default)
    {
        var spf = await _spf.CheckAsync(context.Client, context.MailFrom, context.Helo, ct).ConfigureAwait(false);
        var parsed = await ParseAsync(message, ct).ConfigureAwait(false);
        var dkim = await _dkim.VerifyAsync(parsed, ct).ConfigureAwait(false);
        DmarcOutcome dmarc;
        var fromHeaders = parsed.Headers.Count(h => h.Id == HeaderId.From);
        var mailboxes = parsed.From.Mailboxes.ToList();
        if (fromHeaders != 1 || mailboxes.Count != 1 || mailboxes[0].Domain.Length == 0)
            // RFC 7489 §6.6.1: without exactly one From author domain DMARC cannot be applied.
            dmarc = new DmarcOutcome(DmarcResult.PermError, "", null, DmarcPolicy.None, "not exactly one From address");
        else
            dmarc = await _dmarc.EvaluateAsync(mailboxes[0].Domain, spf, dkim, ct).ConfigureAwait(false);

        SmtpReply? reject = null;
        if (_options.DmarcReject && dmarc.Result == DmarcResult.Fail && dmarc.Disposition == DmarcPolicy.Reject)
            reject = new SmtpReply(550, "5.7.1", $"Message rejected by DMARC policy for {dmarc.FromDomain}");
        var header = AuthenticationResultsHeader.Format(_options.AuthServId, spf, dkim, dmarc);
        return new AuthenticationVerdict(header, true, reject) { Spf = spf, Dkim = dkim, Dmarc = dmarc };
    }

    /// <summary>True for an Authentication-Results field that claims our authserv-id (RFC 8601 §5).</summary>
    public bool IsForgedResults(string name, string value)
        => name.Equals(AuthenticationResultsHeader.Name, StringComparison.OrdinalIgnoreCase)
           && AuthenticationResultsHeader.ClaimsOurId(value, _options.AuthServId);

    private static async ValueTask<MimeMessage> ParseAsync(Stream message, CancellationToken ct)
    {
        message.Position = 0;
        // persistent: parts stay in the file and are read back when hashed.
        var parser = new MimeParser(message, MimeFormat.Entity, persistent: true);
        return await parser.ParseMessageAsync(ct).ConfigureAwait(false);
    }
}
