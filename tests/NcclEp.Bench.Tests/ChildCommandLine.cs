using System.Collections.Generic;
using NcclEp.Bench;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>What <c>--procs</c> gives a child on its command line.</summary>
internal static class ChildCommandLine
{
    /// <summary>The value that follows <paramref name="option"/> in rank <paramref name="rank"/>'s command line (the option must be there).</summary>
    public static string ValueOf(BenchOptions options, int rank, string option)
    {
        List<string> args = ProcsOptions.ChildArguments(options, rank, "file:/tmp/x", $"/tmp/r{rank}.json");
        int at = args.IndexOf(option);
        Assert.True(at >= 0 && at + 1 < args.Count, $"{option} with a value is not in the child's command line: {string.Join(' ', args)}");
        return args[at + 1];
    }
}
