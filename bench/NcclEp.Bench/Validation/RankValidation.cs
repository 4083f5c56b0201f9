using System;

namespace NcclEp.Bench;

/// <summary>What one rank's validation found: rows and tokens checked, and the first mismatch (null if none).</summary>
internal sealed record RankValidation(int Rank, long Rows, long Tokens, string? Mismatch)
{
    public bool Passed => Mismatch is null;
}

/// <summary>Validation over all ranks (and sizes, for a sweep).</summary>
internal sealed record ValidationSummary(bool Ran, long Rows, long Tokens, string? Mismatch)
{
    public static ValidationSummary Skipped { get; } = new(false, 0, 0, null);

    public bool Passed => !Ran || Mismatch is null;

    public static ValidationSummary Of(RankValidation[] ranks)
    {
        long rows = 0, tokens = 0;
        string? mismatch = null;
        foreach (RankValidation r in ranks)
        {
            rows += r.Rows;
            tokens += r.Tokens;
            mismatch ??= r.Mismatch;
        }
        return new ValidationSummary(true, rows, tokens, mismatch);
    }

    public ValidationSummary Add(ValidationSummary other) => !other.Ran ? this : !Ran ? other
        : new ValidationSummary(true, Rows + other.Rows, Tokens + other.Tokens, Mismatch ?? other.Mismatch);

    /// <summary>The final line of the output.</summary>
    public string Line() => !Ran ? "validation: skipped (pass --validate to check the results)"
        : Mismatch is null ? $"validation: passed ({Tokens} tokens, {Rows} rows)"
        : $"validation: FAILED: {Mismatch}";
}
