using System.Security.Cryptography;
using System.Text;

namespace Omoikane.Server.Tests.Sasl;

/// <summary>The client side of RFC 5802, written from the RFC, to drive the server in tests.</summary>
internal sealed class ScramTestClient(string user, string password, string gs2Header = "n,,", byte[]? channelBinding = null, string clientNonce = "fyko+d2lbbFgONRv9qkxdawL")
{
    public string ClientFirstBare => $"n={user.Replace("=", "=3D").Replace(",", "=2C")},r={clientNonce}";
    public string ClientFirst => gs2Header + ClientFirstBare;
    public string? ExpectedServerFinal { get; private set; }

    public string ClientFinal(string serverFirst, string? nonceOverride = null)
    {
        var attrs = serverFirst.Split(',').ToDictionary(a => a[..1], a => a[2..]);
        var salt = Convert.FromBase64String(attrs["s"]);
        int iterations = int.Parse(attrs["i"]);
        var cbind = Encoding.UTF8.GetBytes(gs2Header).Concat(channelBinding ?? []).ToArray();
        var withoutProof = $"c={Convert.ToBase64String(cbind)},r={nonceOverride ?? attrs["r"]}";
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var authMessage = Encoding.UTF8.GetBytes($"{ClientFirstBare},{serverFirst},{withoutProof}");
        var signature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        ExpectedServerFinal = "v=" + Convert.ToBase64String(HMACSHA256.HashData(serverKey, authMessage));
        return $"{withoutProof},p={Convert.ToBase64String(proof)}";
    }
}
