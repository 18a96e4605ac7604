namespace Omoikane.Server.Sasl;

/// <summary>The base64 of SASL exchanges in SMTP (RFC 4954 §4) and POP3 (RFC 5034 §4): strict, "=" is empty.</summary>
public static class SaslBase64
{
    /// <param name="emptyLineIsEmpty">POP3 takes an empty line as an empty response; SMTP requires "=".</param>
    public static bool TryDecode(string text, bool emptyLineIsEmpty, out byte[] data)
    {
        data = [];
        if (text == "=") return true;
        if (text.Length == 0) return emptyLineIsEmpty;
        if (text.Length % 4 != 0) return false;
        foreach (var c in text)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=')) return false;
        try { data = Convert.FromBase64String(text); return true; }
        catch (FormatException) { return false; }
    }
}
