using System.Text.RegularExpressions;
using Omoikane.EndToEnd.Tests.Reliability;
using Omoikane.EndToEnd.Tests.Support;

namespace Omoikane.EndToEnd.Tests.Sendmail;

/// <summary>A child server (started or not) and the program linked under the names sendmail, mailq and newaliases.</summary>
public sealed class LocalSubmission : IAsyncDisposable
{
    public ChildServer Server { get; }
    private LocalSubmission(ChildServer server) => Server = server;

    public static async Task<LocalSubmission> CreateAsync(bool start = true)
    {
        var server = await ChildServer.CreateAsync("", "alice@example.test");
        foreach (var name in new[] { "sendmail", "mailq", "newaliases" })
            File.CreateSymbolicLink(Path.Combine(server.Directory, name), Path.Combine(AppContext.BaseDirectory, "omoikane"));
        if (start) await server.StartAsync();
        return new LocalSubmission(server);
    }

    public string Program(string name) => Path.Combine(Server.Directory, name);
    public string Maildrop => Path.Combine(Server.DataDirectory, "queue", "maildrop");
    public string CorruptDir => Path.Combine(Server.DataDirectory, "queue", "corrupt");
    public string MaillogPath => Path.Combine(Server.DataDirectory, "log", "maillog");
    public Dictionary<string, string> Env => new() { ["MAIL_CONFIG"] = Server.Directory };

    /// <summary>Runs the symlink as the named program, configuration through MAIL_CONFIG as Postfix's sendmail reads it.</summary>
    public Task<(int Code, string Out, string Err)> RunAsync(string name, string? stdin, params string[] args)
        => ExternalProgram.RunAsync(Program(name), args, stdin, Env);

    /// <summary>The messages delivered to alice@example.test, waiting (bounded) until there are at least count.</summary>
    public async Task<string[]> WaitForAliceAsync(int count = 1, int timeoutMs = 20000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            var files = Server.Delivered("example.test", "alice");
            if (files.Length >= count || Environment.TickCount64 > deadline)
                return files.Select(File.ReadAllText).ToArray();
            await Task.Delay(100);
        }
    }

    public string Maillog() => File.Exists(MaillogPath) ? File.ReadAllText(MaillogPath) : "";

    /// <summary>The header section of a delivered message, unfolded field by field.</summary>
    public static string Header(string message) => message[..Math.Max(0, message.IndexOf("\n\n", StringComparison.Ordinal))];

    public static string? Field(string message, string name)
    {
        var m = Regex.Match(Header(message), $"^{Regex.Escape(name)}:[ \t]*(.*(?:\n[ \t].*)*)", RegexOptions.Multiline | RegexOptions.IgnoreCase);
        return m.Success ? Regex.Replace(m.Groups[1].Value, @"\n[ \t]+", " ") : null;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
