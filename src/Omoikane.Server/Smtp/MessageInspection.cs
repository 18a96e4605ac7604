using Omoikane.Mail.Authentication;

namespace Omoikane.Server.Smtp;

/// <summary>
/// Holds a message back in a staging file (not in memory) until it is complete, so that header fields
/// computed over the whole message (DKIM-Signature, Authentication-Results) can go at its top, then writes
/// it into the queue file. The staging file is unlinked as soon as it is open: nothing is left on a crash.
/// </summary>
public sealed class MessageInspection : IDisposable
{
    public MessageInspection(string stagingPath, Func<Stream, CancellationToken, ValueTask<AuthenticationVerdict>> inspect, Func<string, string, bool> dropField)
    {
        Staging = new FileStream(stagingPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows()) File.Delete(stagingPath);
        Inspect = inspect;
        DropField = dropField;
    }

    public FileStream Staging { get; }
    public Func<Stream, CancellationToken, ValueTask<AuthenticationVerdict>> Inspect { get; }
    public Func<string, string, bool> DropField { get; }

    public void Dispose() => Staging.Dispose();
}
