namespace Omoikane.Mail.Delivery.Local;

/// <summary>
/// Delivery to an alias "/file" as local(8) does it: the copy (<see cref="LocalCopy"/>, mbox form) is appended
/// under an exclusive lock on the file (created 0600 when missing), made durable (fsync) before success is
/// reported; on any error the file is cut back to its old length, so a failed delivery leaves no half message.
/// mailbox_size_limit bounds the whole file (0: no limit): a message that would make it larger bounces
/// (5.2.2, "File too large"), as Postfix's file size limit does.
/// </summary>
public static class MboxFileDelivery
{
    private const int LockAttempts = 20;
    private static readonly TimeSpan LockPause = TimeSpan.FromMilliseconds(100);

    public static async Task<LocalResult> AppendAsync(string path, byte[] copy, long sizeLimit, CancellationToken ct)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        FileStream? fs = null;
        for (int i = 0; fs is null; i++)
        {
            try { fs = new FileStream(path, options); }
            catch (IOException) when (i < LockAttempts && File.Exists(path) && !Directory.Exists(path))
            {
                await Task.Delay(LockPause, ct).ConfigureAwait(false); // locked by another writer (flock)
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return LocalResult.Defer("4.2.0", $"cannot open file {path}: {ex.Message}");
            }
        }
        await using (fs)
        {
            var before = fs.Length;
            if (sizeLimit > 0 && before + copy.Length > sizeLimit)
                return LocalResult.Bounce("5.2.2", $"cannot update mailbox {path}: error writing message: File too large");
            try
            {
                fs.Seek(0, SeekOrigin.End);
                await fs.WriteAsync(copy, ct).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
                return LocalResult.Sent($"delivered to file: {path}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
            {
                try { fs.SetLength(before); fs.Flush(flushToDisk: true); } catch (IOException) { }
                if (ex is OperationCanceledException) throw;
                return LocalResult.Defer("4.2.0", $"cannot append message to file {path}: {ex.Message}");
            }
        }
    }
}
