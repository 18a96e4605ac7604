using System.Globalization;
using System.Text;

namespace Omoikane.Bench;

/// <summary>
/// Writes a POP3 fixture: N messages of about SIZE bytes into DIR/new (LF line endings,
/// as Maildir files are stored), with cur/ and tmp/ created. File names follow the
/// Maildir convention without size hints, so every server must stat or read them.
/// </summary>
public static class Maildrop
{
    public static int Make(Options o)
    {
        string dir = o.MakeMaildrop!;
        foreach (var sub in new[] { "new", "cur", "tmp" }) Directory.CreateDirectory(Path.Combine(dir, sub));
        var body = new StringBuilder();
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        for (int line = 0; body.Length < o.Size; line++)
        {
            for (int k = 0; k < 76; k++) body.Append(alphabet[(line * 7 + k) % alphabet.Length]);
            body.Append('\n');
        }
        long t = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        for (int i = 1; i <= o.Messages; i++)
        {
            string headers =
                "Return-Path: <bench@client.test>\n" +
                $"Delivered-To: {o.Rcpt}\n" +
                $"From: Bench <bench@client.test>\nTo: <{o.Rcpt}>\nSubject: pop3 fixture {i}\n" +
                $"Date: {DateTimeOffset.FromUnixTimeSeconds(t).ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)}\n" +
                $"Message-ID: <pop3.{i}@client.test>\n\n";
            string text = headers + body.ToString(0, Math.Max(0, o.Size - headers.Length));
            File.WriteAllText(Path.Combine(dir, "new", string.Create(CultureInfo.InvariantCulture, $"{t}.M{i}P1.bench")), text, Encoding.ASCII);
        }
        Console.WriteLine($"maildrop dir={dir} messages={o.Messages} size={o.Size}");
        return 0;
    }
}
