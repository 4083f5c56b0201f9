using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>
/// The <c>--graph-step</c> figures of each row of a run that measured them (console and Markdown): per replay the median
/// and p90, back-to-back µs per step, the replays, the routing, the graph's nodes, the bytes the replays allocated and
/// the check of the last replay; then how they were taken.
/// </summary>
internal static class GraphStepTable
{
    public static readonly string[] Columns =
    [
        "tokens/rank", "numSms", "routing", "nodes", "replays", "median µs", "p90 µs", "back-to-back µs per step", "replays allocated B", "last replay",
    ];

    /// <summary>A row per result with the figures (none where the option was not given).</summary>
    public static List<string[]> Rows(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>();
        foreach (SizeResult r in results)
        {
            if (r.GraphStep is not { } g) continue;
            rows.Add(
            [
                Whole(r.Tokens), Whole(r.NumSms), BenchNames.Routing(r.RoutingInDispatch), Whole(g.Nodes), Whole(g.Replays),
                Units.Micros(g.Replay.MedianUs), Units.Micros(g.Replay.P90Us), Units.Micros(g.BackToBackUs),
                g.AllocatedBytes.ToString(CultureInfo.InvariantCulture), g.Passed ? "bit-exact" : "MISMATCH",
            ]);
        }
        return rows;
    }

    /// <summary>How the figures are taken, and each mismatch, where any row has them.</summary>
    public static List<string> Lines(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>();
        foreach (SizeResult r in results)
        {
            if (r.GraphStep is { Mismatch: { } mismatch }) lines.Add($"graph step at {Whole(r.Tokens)} tokens/rank: {mismatch}");
        }
        if (Rows(results).Count > 0) lines.Insert(0, "graph step (routing+dispatch+experts+combine): " + GraphStepProbe.Method);
        return lines;
    }

    private static string Whole(int value) => value.ToString(CultureInfo.InvariantCulture);
}
