namespace Omoikane.Mail.Config;

public enum DiagnosticSeverity { Warning, Error }

/// <summary>One finding about a configuration file: "main.cf:12: error: ..." (file, line, problem, fix).</summary>
public sealed record ConfigDiagnostic(DiagnosticSeverity Severity, string File, int Line, string Message)
{
    /// <summary>
    /// An error the running server answers by refusing (an unreadable hosts.deny denies every client):
    /// `check` reports it, but it does not stop `serve` or `reload`, since what it guards stays closed.
    /// </summary>
    public bool FailsClosed { get; init; }

    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")}: {Message}"
                 : $"{File}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")}: {Message}";
}

/// <summary>Collects all diagnostics so every problem is reported at once (YARP IConfigValidator style).</summary>
public sealed class ConfigDiagnostics
{
    private readonly List<ConfigDiagnostic> _items = new();
    public IReadOnlyList<ConfigDiagnostic> Items => _items;
    public bool HasErrors => _items.Any(d => d.Severity == DiagnosticSeverity.Error);
    public void Error(string file, int line, string message) => _items.Add(new(DiagnosticSeverity.Error, file, line, message));
    public void Add(ConfigDiagnostic diagnostic) => _items.Add(diagnostic);
    public void ErrorFailingClosed(string file, int line, string message) => _items.Add(new(DiagnosticSeverity.Error, file, line, message) { FailsClosed = true });
    public void Warning(string file, int line, string message) => _items.Add(new(DiagnosticSeverity.Warning, file, line, message));
    public IEnumerable<ConfigDiagnostic> Errors => _items.Where(d => d.Severity == DiagnosticSeverity.Error);
    public IEnumerable<ConfigDiagnostic> Warnings => _items.Where(d => d.Severity == DiagnosticSeverity.Warning);
}
