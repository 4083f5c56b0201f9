using System;
using System.Collections.Generic;
using System.Linq;

namespace NcclEp.Testing;

/// <summary>
/// One or more rank threads failed. The message names each failed rank with its exception's type and message (the
/// first four); <see cref="Exception.InnerException"/> is the lowest rank's failure.
/// </summary>
public sealed class RankFailedException : Exception
{
    public RankFailedException(IReadOnlyList<(int Rank, Exception Error)> failures)
        : base(Describe(failures), failures[0].Error)
    {
        Failures = failures;
    }

    /// <summary>Each failed rank and what it threw, lowest rank first.</summary>
    public IReadOnlyList<(int Rank, Exception Error)> Failures { get; }

    /// <summary>The lowest failed rank.</summary>
    public int Rank => Failures[0].Rank;

    private static string Describe(IReadOnlyList<(int Rank, Exception Error)> failures)
    {
        string text = string.Join(" | ", failures.Take(4).Select(f => $"rank {f.Rank}: {f.Error.GetType().Name}: {f.Error.Message}"));
        return failures.Count > 4 ? $"{text} | ... ({failures.Count} ranks failed)" : text;
    }
}
