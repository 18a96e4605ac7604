using System.Text;

namespace Omoikane.EndToEnd.Tests.Support;

public static class MailFiles
{
    /// <summary>
    /// The delivered file without the headers the server put on top (Return-Path, Delivered-To and the
    /// first Received header with its continuation lines): what the client sent, with LF line endings.
    /// </summary>
    public static byte[] WithoutTraceHeaders(byte[] delivered)
    {
        var text = Encoding.Latin1.GetString(delivered);
        var lines = text.Split('\n');
        int i = 0;
        Assert.StartsWith("Return-Path: ", lines[i++]);
        Assert.StartsWith("Delivered-To: ", lines[i++]);
        Assert.StartsWith("Received: ", lines[i++]);
        while (lines[i].StartsWith('\t') || lines[i].StartsWith(' ')) i++;
        return Encoding.Latin1.GetBytes(string.Join('\n', lines[i..]));
    }

    public static byte[] CrLfToLf(byte[] data) => Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(data).Replace("\r\n", "\n"));
}
