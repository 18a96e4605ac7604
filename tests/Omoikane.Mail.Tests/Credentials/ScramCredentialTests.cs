using System.Security.Cryptography;
using Omoikane.Mail.Credentials;

namespace Omoikane.Mail.Tests.Credentials;

public class ScramCredentialTests
{
    private static readonly byte[] Rfc7677Salt = Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ==");

    [Fact]
    public void DerivedKeysFollowRfc5802Definitions()
    {
        var c = ScramCredential.Derive("pencil", Rfc7677Salt, 4096);
        var salted = Rfc2898DeriveBytes.Pbkdf2("pencil"u8, Rfc7677Salt, 4096, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        Assert.Equal(SHA256.HashData(clientKey), c.StoredKey.ToArray());
        Assert.Equal(HMACSHA256.HashData(salted, "Server Key"u8), c.ServerKey.ToArray());
        Assert.Equal(4096, c.Iterations);
    }

    [Fact]
    public void VerifyPasswordAcceptsOnlyTheRightPassword()
    {
        var c = ScramCredential.Create("pencil", 4096);
        Assert.True(c.VerifyPassword("pencil"));
        Assert.False(c.VerifyPassword("Pencil"));
        Assert.False(c.VerifyPassword("pencil "));
        Assert.False(c.VerifyPassword(""));
        Assert.False(c.VerifyPassword("pen\u0007cil"));
    }

    [Fact]
    public void SaslPrepMappingAppliesToPasswords()
    {
        // RFC 4013 §3 example 1: SOFT HYPHEN maps to nothing, so "I\u00ADX" and "IX" are the same password.
        var c = ScramCredential.Create("I\u00ADX", 4096);
        Assert.True(c.VerifyPassword("IX"));
    }

    [Fact]
    public void FreshSaltsDiffer()
    {
        Assert.NotEqual(ScramCredential.Create("p", 4096).Salt.ToArray(), ScramCredential.Create("p", 4096).Salt.ToArray());
    }
}
