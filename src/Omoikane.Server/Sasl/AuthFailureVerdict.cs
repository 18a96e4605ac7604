namespace Omoikane.Server.Sasl;

/// <summary>What to do after a failed authentication: wait <paramref name="Delay"/> before answering, and
/// close the connection after answering when <paramref name="Disconnect"/> (SMTP 421 4.7.0, POP3 -ERR).</summary>
public readonly record struct AuthFailureVerdict(TimeSpan Delay, bool Disconnect, int Failures);
