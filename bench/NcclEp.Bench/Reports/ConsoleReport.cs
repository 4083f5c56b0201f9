using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NcclEp;
using Spectre.Console;

namespace NcclEp.Bench;

/// <summary>
/// The human-readable output: Spectre.Console tables (a Markdown table when the output is not a terminal, so
/// it pastes into bench/results/*.md as is), the byte formulas, and the validation line.
/// </summary>
internal sealed class ConsoleReport
{
    private readonly IAnsiConsole _console;

    public ConsoleReport()
    {
        Interactive = !System.Console.IsOutputRedirected && !System.Console.IsErrorRedirected;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = Interactive ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(System.Console.Out),
        });
    }

    /// <summary>Whether stdout and stderr are a terminal (live progress is drawn only then).</summary>
    public bool Interactive { get; }

    /// <summary>Runs <paramref name="run"/> for each point with a live progress bar (terminal) or a line per point on stderr.</summary>
    public List<SizeResult> RunWithProgress(IReadOnlyList<RunPoint> points, Func<RunPoint, SizeResult> run)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(run);
        var results = new List<SizeResult>(points.Count);
        if (Interactive)
        {
            _console.Progress().AutoClear(true).Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("sweep", maxValue: points.Count);
                foreach (RunPoint point in points)
                {
                    task.Description = $"sweep: {point}";
                    results.Add(run(point));
                    task.Increment(1);
                }
            });
            return results;
        }
        for (int i = 0; i < points.Count; i++)
        {
            results.Add(run(points[i]));
            System.Console.Error.WriteLine($"sweep: {points[i]} done ({i + 1}/{points.Count})");
        }
        return results;
    }

    /// <summary>How long a single run goes before its progress indicator appears (shorter runs draw nothing).</summary>
    public static readonly TimeSpan StatusDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether a single run shows a live progress indicator: only on a terminal (stdout and stderr not redirected)
    /// and without <c>--json</c>, so logs and machine-read runs stay free of redraws.
    /// </summary>
    public static bool ShowsStatus(bool interactive, string? jsonPath) => interactive && jsonPath is null;

    /// <summary>
    /// Runs <paramref name="run"/> (one size); if it is still going after <see cref="StatusDelay"/> and
    /// <see cref="ShowsStatus"/> allows it, shows a spinner with <paramref name="label"/> and the time so far until it ends.
    /// </summary>
    public T RunWithStatus<T>(string label, string? jsonPath, Func<T> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!ShowsStatus(Interactive, jsonPath)) return run();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Task<T> task = Task.Factory.StartNew(run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!Ended(task, StatusDelay))
        {
            _console.Status().Spinner(Spinner.Known.Dots).Start(Status(label, clock.Elapsed), ctx =>
            {
                while (!Ended(task, TimeSpan.FromMilliseconds(250))) ctx.Status(Status(label, clock.Elapsed));
            });
        }
        return task.GetAwaiter().GetResult();  // the run's own exception, not an AggregateException
    }

    /// <summary>Waits up to <paramref name="wait"/> for the task to end, however it ends (a failed run throws later, once).</summary>
    private static bool Ended(Task task, TimeSpan wait) => ((IAsyncResult)task).AsyncWaitHandle.WaitOne(wait);

    private static string Status(string label, TimeSpan elapsed) =>
        Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{label}: {elapsed.TotalSeconds:0} s"));

    /// <summary>A plain line (never wrapped).</summary>
    public void Line(string text) => System.Console.Out.WriteLine(text);

    public void Single(SizeResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        Table table = NewTable("phase", "median µs", "p90 µs", "MB moved", "GB/s (all ranks)", "GB/s per rank",
            "GB/s/rank (ep_bench)", "link bound µs", "% of link", "NCCL a2a µs", "% of ceiling");
        Row(table, "update", r.Update, null, r.Ranks, double.NaN);
        Row(table, r.DispatchLabel, r.Dispatch, r.Traffic.DispatchBytes, r.Ranks, r.DispatchPercentOfCeiling,
            (r.DispatchGBpsEpBench, r.DispatchLinkBoundUs, r.DispatchPercentOfLink, r.Baseline.DispatchUs));
        Row(table, "combine", r.Combine, r.Traffic.CombineBytes, r.Ranks, r.CombinePercentOfCeiling,
            (r.CombineGBpsEpBench, r.CombineLinkBoundUs, r.CombinePercentOfLink, r.Baseline.CombineUs));
        if (r.Ceiling.Measured)
        {
            // The ceiling moves the remote bytes only: its MB column is those.
            Row(table, "dispatch ceiling (peer copy)", r.Ceiling.Dispatch, r.Ceiling.Bytes.DispatchBytes, r.Ranks, double.NaN);
            Row(table, "combine ceiling (peer copy)", r.Ceiling.Combine, r.Ceiling.Bytes.CombineBytes, r.Ranks, double.NaN);
        }
        Write(table, 160);
        foreach (string line in LinkTable.Lines([r], bySms: false)) Line(line);
        Line(r.Traffic.DispatchFormula(r.Config));
        Line(r.Traffic.CombineFormula(r.Config));
        Line(r.Ceiling.Line());
        Line(r.Ceiling.Bytes.DispatchFormula(r.Config));
        Line(r.Ceiling.Bytes.CombineFormula(r.Config));
        Concurrent([r]);
        Timeline([r]);
        GraphStep([r]);
        Line(TimingNote(r));
    }

    /// <summary>A token sweep: the results table, the byte formulas, then the ceiling of each size.</summary>
    public void Sweep(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        Write(Fill(NewTable(ResultTable.Columns), ResultTable.Rows(results)), 190);
        if (results.Count == 0) return;
        SizeResult last = results[^1];
        int size = last.Config.DataType.SizeInBytes();
        Line($"dispatch bytes = Σ over (token, destination rank) pairs × {Traffic.DispatchRowText(last.Config, general: true)} (remote + local, all ranks)");
        Line($"combine bytes = Σ over {BenchNames.CombineRows(last.Config)} × hidden × {size} B (remote + local, all ranks)");
        Link(results, bySms: false);
        Ceiling(results, bySms: false);
        Concurrent(results);
        Timeline(results);
        GraphStep(results);
        Line(TimingNote(last));
    }

    /// <summary><c>--sms-sweep</c>: one row per numSms, the byte formulas of the one size, then the ceiling of each row.</summary>
    public void SmsSweep(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        Write(Fill(NewTable(SmsSweepTable.Columns), SmsSweepTable.Rows(results)), 130);
        if (results.Count == 0) return;
        SizeResult last = results[^1];
        Line(SmsSweepTable.BlocksNote);
        Line(last.Traffic.DispatchFormula(last.Config));
        Line(last.Traffic.CombineFormula(last.Config));
        Link(results, bySms: true);
        Ceiling(results, bySms: true);
        Concurrent(results);
        Timeline(results);
        GraphStep(results);
        Line(TimingNote(last));
    }

    /// <summary>The link-bound table (ep_bench GB/s, link bound, % of link, baseline) and its formulas.</summary>
    private void Link(IReadOnlyList<SizeResult> results, bool bySms)
    {
        Write(Fill(NewTable(LinkTable.Columns(bySms)), LinkTable.Rows(results, bySms)), 220);
        foreach (string line in LinkTable.Lines(results, bySms)) Line(line);
    }

    /// <summary>The <c>--concurrent-compute</c> table and its formula, where the run measured them.</summary>
    private void Concurrent(IReadOnlyList<SizeResult> results)
    {
        List<string[]> rows = ConcurrentTable.Rows(results);
        if (rows.Count == 0) return;
        Write(Fill(NewTable(ConcurrentTable.Columns), rows), 240);
        foreach (string line in ConcurrentTable.Lines(results)) Line(line);
    }

    /// <summary>The <c>--timeline</c> table and its gaps, where the run read them.</summary>
    private void Timeline(IReadOnlyList<SizeResult> results)
    {
        List<string[]> rows = TimelineTable.Rows(results);
        if (rows.Count > 0) Write(Fill(NewTable(TimelineTable.Columns), rows), 170);
        foreach (string line in TimelineTable.Lines(results)) Line(line);
    }

    /// <summary>The <c>--graph-step</c> table and how it was taken, where the run measured it.</summary>
    private void GraphStep(IReadOnlyList<SizeResult> results)
    {
        List<string[]> rows = GraphStepTable.Rows(results);
        if (rows.Count == 0) return;
        Write(Fill(NewTable(GraphStepTable.Columns), rows), 150);
        foreach (string line in GraphStepTable.Lines(results)) Line(line);
    }

    /// <summary>The ceiling table (where measured), how it was taken or why not, and its byte formulas.</summary>
    private void Ceiling(IReadOnlyList<SizeResult> results, bool bySms)
    {
        List<string[]> rows = CeilingTable.Rows(results, bySms);
        if (rows.Count > 0) Write(Fill(NewTable(CeilingTable.Columns(bySms)), rows), 160);
        foreach (string line in CeilingTable.Lines(results, bySms)) Line(line);
        SizeResult last = results[^1];
        string at = bySms ? "" : $"at {last.Tokens} tokens/rank: ";
        Line(at + last.Ceiling.Bytes.DispatchFormula(last.Config));
        Line(at + last.Ceiling.Bytes.CombineFormula(last.Config));
    }

    /// <summary>
    /// A terminal at least <paramref name="minWidth"/> wide: Spectre draws it. Otherwise (a file, a pipe, a narrow
    /// terminal) a Markdown table, never wrapped, without Spectre's blank padding lines.
    /// </summary>
    private void Write(Table table, int minWidth)
    {
        if (Interactive && _console.Profile.Width >= minWidth)
        {
            _console.Write(table);
            return;
        }
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        IAnsiConsole plain = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        plain.Profile.Width = 400;
        table.Border = TableBorder.Markdown;
        plain.Write(table);
        foreach (string line in text.ToString().Split('\n'))
        {
            string trimmed = line.TrimEnd();
            if (trimmed.Length > 0) Line(trimmed);
        }
    }

    private static string TimingNote(SizeResult r) =>
        $"times: median and p90 over {r.Iterations} iterations after {r.Warmups} warm-ups, per rank, slowest rank shown; " +
        "GB/s = bytes of all ranks / slowest rank's median (1 GB = 10^9 B); per rank = that / ranks; " + ResultTable.RoutingNote(r.RoutingInDispatch);

    private static Table NewTable(params string[] columns)
    {
        var table = new Table { Border = TableBorder.Rounded };
        foreach (string c in columns) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        table.Columns[0].LeftAligned();
        return table;
    }

    /// <summary>A phase's row; <paramref name="link"/> (ep_bench GB/s per rank, link bound, % of link, baseline µs) for dispatch and combine only.</summary>
    private static void Row(Table table, string phase, PhaseStats stats, long? bytes, int ranks, double percentOfCeiling,
        (double EpBench, double BoundUs, double PercentOfLink, double BaselineUs)? link = null)
    {
        double gbps = bytes is null ? 0 : Units.GigabytesPerSecond(bytes.Value, stats.MedianUs);
        table.AddRow(Cells(
            phase,
            Units.MicrosOrDash(stats.MedianUs),
            Units.MicrosOrDash(stats.P90Us),
            bytes is null ? "-" : ResultTable.Megabytes(bytes.Value),
            bytes is null ? "-" : Units.Rate(gbps),
            bytes is null ? "-" : Units.Rate(gbps / ranks),
            link is { } a ? Units.Rate(a.EpBench) : "-",
            link is { } b ? Units.MicrosOrNa(b.BoundUs) : "-",
            link is { } c ? Units.PercentOrNa(c.PercentOfLink) : "-",
            link is { } d ? Units.MicrosOrNa(d.BaselineUs) : "-",
            Units.Percent(percentOfCeiling)));
    }

    private static Table Fill(Table table, List<string[]> rows)
    {
        foreach (string[] row in rows) table.AddRow(Cells(row));
        return table;
    }

    private static Text[] Cells(params string[] values)
    {
        var cells = new Text[values.Length];
        for (int i = 0; i < values.Length; i++) cells[i] = new Text(values[i]);
        return cells;
    }
}
