namespace Omoikane.Mail.Policy.Tables;

/// <summary>static:value — every lookup finds the same value (Postfix DATABASE_README).</summary>
public sealed class StaticTable(string name, string value) : ILookupTable
{
    public string Name { get; } = name;
    public string Value { get; } = value;

    public ValueTask<LookupResult> LookupAsync(string key, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(LookupResult.Found(Value));
}
