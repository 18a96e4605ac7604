using Omoikane.Server.Transport;

namespace Omoikane.Server.Sasl;

public enum SaslExchangeStatus { Success, Failure, TempFail, Cancelled, BadBase64, LineFailed, TooManySteps }

/// <summary>How an exchange ended; Line is the failed read for LineFailed, Reason the mechanism's for TempFail.</summary>
public readonly record struct SaslExchangeResult(SaslExchangeStatus Status, Line Line = default, string? Reason = null);

/// <summary>
/// The challenge/response loop shared by SMTP AUTH (RFC 4954 §4) and POP3 AUTH (RFC 5034 §4): steps the
/// mechanism (off the I/O thread: key derivation is slow), sends each challenge through the protocol,
/// takes "*" as cancel, decodes base64, and sends additional data on success as one more challenge
/// answered by an empty line. The protocols turn the result into their own replies.
/// </summary>
public static class SaslExchange
{
    private const int MaxSteps = 16;

    /// <param name="challengeAsync">Sends a challenge ("334 ..." / "+ ...") and reads the client's line.</param>
    public static async Task<SaslExchangeResult> RunAsync(SaslMechanism mechanism, byte[] initialResponse,
        Func<byte[], Task<Line>> challengeAsync, bool emptyLineIsEmpty, CancellationToken ct)
    {
        var response = initialResponse;
        for (int round = 0; round < MaxSteps; round++)
        {
            var input = response;
            var step = await Task.Run(() => mechanism.Step(input), ct).ConfigureAwait(false);
            switch (step.Status)
            {
                case SaslStatus.Success:
                    if (step.Challenge is { Length: > 0 } extra)
                    {
                        var ack = await challengeAsync(extra).ConfigureAwait(false);
                        if (ack.Status != LineStatus.Ok) return new(SaslExchangeStatus.LineFailed, ack);
                        if (ack.Text == "*") return new(SaslExchangeStatus.Cancelled);
                    }
                    return new(SaslExchangeStatus.Success);
                case SaslStatus.Failure:
                    return new(SaslExchangeStatus.Failure);
                case SaslStatus.TempFail:
                    return new(SaslExchangeStatus.TempFail, Reason: step.Reason);
            }
            var line = await challengeAsync(step.Challenge ?? []).ConfigureAwait(false);
            if (line.Status != LineStatus.Ok) return new(SaslExchangeStatus.LineFailed, line);
            if (line.Text == "*") return new(SaslExchangeStatus.Cancelled);
            if (!SaslBase64.TryDecode(line.Text, emptyLineIsEmpty, out response)) return new(SaslExchangeStatus.BadBase64);
        }
        return new(SaslExchangeStatus.TooManySteps);
    }
}
