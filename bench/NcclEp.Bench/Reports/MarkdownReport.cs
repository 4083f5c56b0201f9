using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace NcclEp.Bench;

/// <summary>
/// A results file for bench/results (<c>--markdown PATH.md</c>): device/backend, machine, date, the command that
/// reproduces it, the configuration, the table, the link bound with ep_bench's GB/s and the baseline, the peer-copy
/// ceiling, the byte formulas, and the chart when one was written.
/// </summary>
internal static class MarkdownReport
{
    public static void Write(string path, ArtifactContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (folder is not null) Directory.CreateDirectory(folder);
        string? chartLink = null;
        if (context.Options.ChartPath is not null)
        {
            chartLink = Path.GetRelativePath(folder ?? ".", Path.GetFullPath(context.Options.ChartPath)).Replace('\\', '/');
        }
        File.WriteAllText(full, Render(context, chartLink), new UTF8Encoding(false));
    }

    public static string Render(ArtifactContext context, string? chartLink)
    {
        ArgumentNullException.ThrowIfNull(context);
        BenchOptions o = context.Options;
        ChartData chart = context.Chart;
        string arguments = ResultTable.Arguments(context.Args);
        var s = new StringBuilder();
        s.Append("# ").Append(chart.Title).Append(" (NcclEp.Bench)\n\n");
        s.Append("- Device/backend: ").Append(context.BackendLine).Append('\n');
        s.Append("- Machine: ").Append(ResultTable.Machine()).Append('\n');
        s.Append("- Date: ").Append(context.Date.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)).Append('\n');
        s.Append("- Command: `NcclEp.Bench ").Append(arguments).Append("`\n");
        s.Append("  - from the repository root (any machine with .NET): `dotnet run --project bench/NcclEp.Bench -c Release -- ")
            .Append(arguments).Append("`\n");
        s.Append("  - on a GPU machine (after `scripts/gpu-bundle.sh`): `bash gpu-bundle/gpu-run.sh bench ").Append(arguments).Append("`\n");
        s.Append("- Config: `").Append(o.Describe()).Append("`\n");
        s.Append("- ").Append(ResultTable.TimingNote(o)).Append('\n');
        s.Append('\n');

        s.Append("## Results\n\n");
        (string[] columns, List<string[]> rows) = ResultTable.ForRun(o, context.Results);
        AppendTable(s, columns, rows);
        s.Append('\n');
        if (o.SmsSweep is not null) s.Append("- ").Append(SmsSweepTable.BlocksNote).Append("\n\n");

        bool bySms = o.SmsSweep is not null;
        s.Append("## Link bound, ep_bench GB/s and the NCCL all-to-all baseline\n\n");
        AppendTable(s, LinkTable.Columns(bySms), LinkTable.Rows(context.Results, bySms));
        s.Append('\n');
        foreach (string line in LinkTable.Lines(context.Results, bySms)) s.Append("- ").Append(line).Append('\n');
        s.Append('\n');

        s.Append("## Peer-copy ceiling\n\n");
        foreach (string line in CeilingTable.Lines(context.Results, bySms)) s.Append("- ").Append(line).Append('\n');
        s.Append('\n');
        List<string[]> ceiling = CeilingTable.Rows(context.Results, bySms);
        if (ceiling.Count > 0)
        {
            AppendTable(s, CeilingTable.Columns(bySms), ceiling);
            s.Append('\n');
        }

        AppendOptional(s, "Concurrent compute", ConcurrentTable.Columns, ConcurrentTable.Rows(context.Results), ConcurrentTable.Lines(context.Results));
        AppendOptional(s, "Block timeline of one operation", TimelineTable.Columns, TimelineTable.Rows(context.Results), TimelineTable.Lines(context.Results));
        AppendOptional(s, "Captured graph step", GraphStepTable.Columns, GraphStepTable.Rows(context.Results), GraphStepTable.Lines(context.Results));

        s.Append("## Bytes\n\n");
        foreach (string line in ResultTable.Formulas(context.Results)) s.Append("- ").Append(line).Append('\n');
        s.Append('\n');

        if (chartLink is not null)
        {
            s.Append("## Chart\n\n");
            s.Append("![").Append(chart.Title).Append("](").Append(chartLink).Append(")\n\n");
        }
        s.Append("## ").Append(chart.IsLatency ? "Latency" : "Bandwidth").Append(" by phase\n\n```text\n")
            .Append(TerminalChart.Plain(chart)).Append("```\n");
        return s.ToString();
    }

    /// <summary>The section of an option's figures (its table, then its lines as a list), where the run has rows of them.</summary>
    private static void AppendOptional(StringBuilder s, string title, string[] columns, List<string[]> rows, List<string> lines)
    {
        if (rows.Count == 0) return;
        s.Append("## ").Append(title).Append("\n\n");
        AppendTable(s, columns, rows);
        s.Append('\n');
        foreach (string line in lines) s.Append("- ").Append(line).Append('\n');
        s.Append('\n');
    }

    /// <summary>A Markdown table with padded columns: the first left-aligned, the others right-aligned.</summary>
    private static void AppendTable(StringBuilder s, string[] columns, List<string[]> rows)
    {
        var widths = new int[columns.Length];
        for (int c = 0; c < columns.Length; c++)
        {
            widths[c] = Math.Max(3, columns[c].Length);
            foreach (string[] row in rows) widths[c] = Math.Max(widths[c], row[c].Length);
        }
        s.Append('|');
        for (int c = 0; c < columns.Length; c++) s.Append(' ').Append(Pad(columns[c], widths[c], c == 0)).Append(" |");
        s.Append("\n|");
        for (int c = 0; c < columns.Length; c++)
            s.Append(' ').Append(c == 0 ? ":" + new string('-', widths[c] - 1) : new string('-', widths[c] - 1) + ":").Append(" |");
        s.Append('\n');
        foreach (string[] row in rows)
        {
            s.Append('|');
            for (int c = 0; c < columns.Length; c++) s.Append(' ').Append(Pad(row[c], widths[c], c == 0)).Append(" |");
            s.Append('\n');
        }
    }

    private static string Pad(string text, int width, bool left) => left ? text.PadRight(width) : text.PadLeft(width);
}
