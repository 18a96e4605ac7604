using System.Text.RegularExpressions;
using Omoikane.Mail.Config;

namespace Omoikane.Mail.Tests.Configuration;

/// <summary>
/// Every parameter in ParameterTable is read by some code, or listed in IgnoredParameters with what happens
/// instead; and no ignored parameter is read (else check --migration would call it ignored while it works).
/// "Read" means its name appears as a string literal in the program's source outside the tables and the
/// migration report, or it is named ($name) in the default of a parameter that is read.
/// </summary>
public sealed class ParameterBindingTests
{
    /// <summary>Being bound in parallel work; remove from here once they are read.</summary>
    private static readonly HashSet<string> BeingBound = new(StringComparer.Ordinal);

    /// <summary>Files that name parameters to describe them, not to use them.</summary>
    private static readonly string[] Describing = ["ParameterTable.cs", "IgnoredParameters.cs", "CheckCommand.cs"];

    private static string SourceRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Omoikane.slnx"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Omoikane.slnx not found above " + AppContext.BaseDirectory), "src");
    }

    /// <summary>Every "quoted" string literal of the program's source, the describing files left out.</summary>
    private static HashSet<string> Literals()
    {
        var sep = Path.DirectorySeparatorChar;
        var files = Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}bin{sep}", StringComparison.Ordinal) && !f.Contains($"{sep}obj{sep}", StringComparison.Ordinal))
            .Where(f => !Describing.Contains(Path.GetFileName(f)))
            .ToList();
        Assert.True(files.Count > 50, $"only {files.Count} source files found");
        var literals = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
            foreach (Match m in Regex.Matches(File.ReadAllText(f), "\"([a-z0-9_]+)\""))
                literals.Add(m.Groups[1].Value);
        return literals;
    }

    private static HashSet<string> ReadParameters()
    {
        var literals = Literals();
        var read = new HashSet<string>(ParameterTable.All.Select(d => d.Name).Where(literals.Contains), StringComparer.Ordinal);
        // A parameter named in the default of a read one is read through it (smtp_destination_concurrency_limit
        // defaults to $default_destination_concurrency_limit).
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var d in ParameterTable.All.Where(d => read.Contains(d.Name)).ToList())
                foreach (Match m in Regex.Matches(d.Default, @"\$\{?([a-z0-9_]+)"))
                    if (ParameterTable.IsKnown(m.Groups[1].Value) && read.Add(m.Groups[1].Value)) grew = true;
        }
        return read;
    }

    [Fact]
    public void EveryParameterIsReadOrIgnoredWithItsReason()
    {
        var read = ReadParameters();
        Assert.Contains("myhostname", read); // the scan sees the source at all
        var unbound = ParameterTable.All.Select(d => d.Name)
            .Where(n => !read.Contains(n) && !IgnoredParameters.Reasons.ContainsKey(n) && !BeingBound.Contains(n))
            .ToList();
        Assert.True(unbound.Count == 0, "parameters read by nothing and not in IgnoredParameters: " + string.Join(", ", unbound));
    }

    [Fact]
    public void NoIgnoredParameterIsRead()
    {
        var read = ReadParameters();
        var readAnyway = IgnoredParameters.Reasons.Keys.Where(read.Contains).ToList();
        Assert.True(readAnyway.Count == 0, "listed as ignored but read: " + string.Join(", ", readAnyway));
    }

    [Fact]
    public void EveryIgnoredParameterSaysWhatHappensInstead()
    {
        foreach (var (name, reason) in IgnoredParameters.Reasons)
        {
            Assert.True(reason.Length >= 20, $"{name}: reason too short: {reason}");
            Assert.DoesNotContain("without effect", reason, StringComparison.Ordinal);
        }
        Assert.Equal(IgnoredParameters.Reasons.Keys.ToHashSet(), ParameterTable.IgnoredPostfixNames.ToHashSet());
    }
}
