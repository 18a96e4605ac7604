using MimeKit;
using MimeKit.Cryptography;
using Omoikane.Mail.Dns;

namespace Omoikane.Mail.Authentication.Dkim;

/// <summary>
/// Verifies the DKIM-Signature headers of a message (RFC 6376 §6) with MimeKit's verifier and keys from
/// <see cref="DkimDnsKeyLocator"/>. A DNS temporary failure is temperror, a missing or broken key permerror.
/// </summary>
public sealed class DkimChecker
{
    /// <summary>Signatures looked at per message; more are ignored (RFC 6376 §6.1 allows a limit).</summary>
    public const int SignatureLimit = 5;
    private readonly DkimVerifier _verifier;

    public DkimChecker(IDnsResolver dns)
    {
        _verifier = new DkimVerifier(new DkimDnsKeyLocator(dns));
        _verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
    }

    public async ValueTask<IReadOnlyList<DkimOutcome>> VerifyAsync(MimeMessage message, CancellationToken ct = default)
    {
        var outcomes = new List<DkimOutcome>();
        foreach (var header in message.Headers.Where(h => h.Id == HeaderId.DkimSignature).Take(SignatureLimit))
        {
            var tags = DkimTags.Parse(header.Value);
            var d = tags.GetValueOrDefault("d", "");
            var s = tags.GetValueOrDefault("s", "");
            var a = tags.GetValueOrDefault("a", "");
            DkimOutcome outcome;
            try
            {
                var ok = await _verifier.VerifyAsync(message, header, ct).ConfigureAwait(false);
                outcome = new DkimOutcome(ok ? DkimResult.Pass : DkimResult.Fail, d, s, a, ok ? "good signature" : "signature did not verify");
            }
            catch (DkimKeyLookupException ex)
            {
                outcome = new DkimOutcome(ex.Temporary ? DkimResult.TempError : DkimResult.PermError, d, s, a, ex.Message);
            }
            catch (Exception ex) when (ex is FormatException or ParseException or NotSupportedException or ArgumentException or Org.BouncyCastle.Crypto.CryptoException)
            {
                // A malformed signature header or an algorithm we do not verify (e.g. rsa-sha1, RFC 8301).
                outcome = new DkimOutcome(DkimResult.PermError, d, s, a, ex.Message);
            }
            outcomes.Add(outcome);
        }
        return outcomes;
    }
}
