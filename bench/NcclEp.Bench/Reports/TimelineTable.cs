using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NcclEp.Bench;

/// <summary>
/// The <c>--timeline</c> figures of each row of a run that measured them (console and Markdown): a row per rank, kernel
/// and role, then a line per rank with the gaps between consecutive kernels.
/// </summary>
internal static class TimelineTable
{
    public static readonly string[] Columns =
    [
        "tokens/rank", "rank", "kernel", "role", "blocks", "first start µs", "last start µs", "first end µs", "last end µs",
        "median block µs", "slowest block µs (block, SM)",
    ];

    public static List<string[]> Rows(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>();
        foreach (SizeResult r in results)
        {
            foreach (OperationTimeline rank in r.Timeline ?? [])
            {
                foreach (KernelTimeline kernel in rank.Kernels)
                {
                    foreach (RoleTimeline role in kernel.Roles)
                    {
                        rows.Add(
                        [
                            Whole(r.Tokens), Whole(rank.Rank), kernel.Seq > 0 ? $"{kernel.Name} (seq {Whole(kernel.Seq)})" : kernel.Name, role.Role,
                            Whole(role.Blocks) + (role.NotEnded > 0 ? $" ({Whole(role.NotEnded)} not ended)" : ""),
                            Us(role.FirstStartUs), Us(role.LastStartUs), Us(role.FirstEndUs), Us(role.LastEndUs), Us(role.MedianBlockUs),
                            role.SlowestBlock < 0 ? "-" : $"{Us(role.SlowestBlockUs)} ({Whole(role.SlowestBlock)}, SM {Whole(role.SlowestSm)})",
                        ]);
                    }
                }
            }
        }
        return rows;
    }

    /// <summary>The method, then per row and rank the gaps between consecutive kernels (or that no block recorded anything).</summary>
    public static List<string> Lines(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>();
        foreach (SizeResult r in results)
        {
            foreach (OperationTimeline rank in r.Timeline ?? [])
            {
                string at = $"timeline at {Whole(r.Tokens)} tokens/rank, rank {Whole(rank.Rank)}: ";
                lines.Add(at + (rank.Kernels.Count == 0 ? "no block recorded anything"
                    : rank.Gaps.Count == 0 ? $"one kernel ({rank.Kernels[0].Name}), no gaps"
                    : "gaps " + string.Join(", ", rank.Gaps.Select(g => $"{g.From} → {g.To} {Us(g.Us)} µs")) +
                      $"; last block end {Us(rank.Kernels[^1].EndUs)} µs"));
            }
        }
        if (lines.Count > 0) lines.Insert(0, "timeline: " + BlockTimelineProbe.Method);
        return lines;
    }

    /// <summary>µs to the hundredth (a block of a small launch lasts a few µs), or "-" where there is none.</summary>
    private static string Us(double us) => double.IsFinite(us) ? us.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static string Whole(int value) => value.ToString(CultureInfo.InvariantCulture);
}
