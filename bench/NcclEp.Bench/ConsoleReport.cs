using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
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

    /// <summary>Runs <paramref name="run"/> for each size with a live progress bar (terminal) or a line per size on stderr.</summary>
    public List<SizeResult> RunWithProgress(int[] sizes, Func<int, SizeResult> run)
    {
        var results = new List<SizeResult>(sizes.Length);
        if (Interactive)
        {
            _console.Progress().AutoClear(true).Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("sweep", maxValue: sizes.Length);
                foreach (int tokens in sizes)
                {
                    task.Description = $"sweep: {tokens} tokens/rank";
                    results.Add(run(tokens));
                    task.Increment(1);
                }
            });
            return results;
        }
        for (int i = 0; i < sizes.Length; i++)
        {
            results.Add(run(sizes[i]));
            System.Console.Error.WriteLine($"sweep: {sizes[i]} tokens/rank done ({i + 1}/{sizes.Length})");
        }
        return results;
    }

    /// <summary>A plain line (never wrapped).</summary>
    public void Line(string text) => System.Console.Out.WriteLine(text);

    public void Single(SizeResult r)
    {
        Table table = NewTable("phase", "median µs", "p90 µs", "MB moved", "GB/s (all ranks)", "GB/s per rank");
        Row(table, "update", r.Update, null, r.Ranks);
        Row(table, "dispatch", r.Dispatch, r.Traffic.DispatchBytes, r.Ranks);
        Row(table, "combine", r.Combine, r.Traffic.CombineBytes, r.Ranks);
        Write(table, 80);
        Line(r.Traffic.DispatchFormula(r.Config));
        Line(r.Traffic.CombineFormula(r.Config));
        Line(TimingNote(r));
    }

    public void Sweep(IReadOnlyList<SizeResult> results)
    {
        Table table = NewTable("tokens/rank", "update µs", "dispatch µs", "dispatch p90", "dispatch MB", "dispatch GB/s",
            "combine µs", "combine p90", "combine MB", "combine GB/s", "validation");
        foreach (SizeResult r in results)
        {
            table.AddRow(Cells(
                r.Tokens.ToString(CultureInfo.InvariantCulture),
                Units.Micros(r.Update.MedianUs),
                Units.Micros(r.Dispatch.MedianUs),
                Units.Micros(r.Dispatch.P90Us),
                Units.Megabytes(r.Traffic.DispatchBytes).Replace(" MB", "", StringComparison.Ordinal),
                Units.Rate(r.DispatchGBps),
                Units.Micros(r.Combine.MedianUs),
                Units.Micros(r.Combine.P90Us),
                Units.Megabytes(r.Traffic.CombineBytes).Replace(" MB", "", StringComparison.Ordinal),
                Units.Rate(r.CombineGBps),
                !r.Validation.Ran ? "-" : r.Validation.Passed ? "passed" : "FAILED"));
        }
        Write(table, 160);
        if (results.Count == 0) return;
        SizeResult last = results[^1];
        string perSlot = last.Config.Layout == EpLayout.ExpertMajor ? "(token, top-k slot) rows sent home" : "(token, destination rank) rows sent home";
        int size = last.Config.DataType.SizeInBytes();
        Line($"dispatch bytes = Σ over (token, destination rank) pairs × hidden × {size} B (remote + local, all ranks)");
        Line($"combine bytes = Σ over {perSlot} × hidden × {size} B (remote + local, all ranks)");
        Line(TimingNote(last));
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
        "GB/s = bytes of all ranks / slowest rank's median (1 GB = 10^9 B); per rank = that / ranks";

    private static Table NewTable(params string[] columns)
    {
        var table = new Table { Border = TableBorder.Rounded };
        foreach (string c in columns) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        table.Columns[0].LeftAligned();
        return table;
    }

    private static void Row(Table table, string phase, PhaseStats stats, long? bytes, int ranks)
    {
        double gbps = bytes is null ? 0 : Units.GigabytesPerSecond(bytes.Value, stats.MedianUs);
        table.AddRow(Cells(
            phase,
            Units.Micros(stats.MedianUs),
            Units.Micros(stats.P90Us),
            bytes is null ? "-" : Units.Megabytes(bytes.Value).Replace(" MB", "", StringComparison.Ordinal),
            bytes is null ? "-" : Units.Rate(gbps),
            bytes is null ? "-" : Units.Rate(gbps / ranks)));
    }

    private static Text[] Cells(params string[] values)
    {
        var cells = new Text[values.Length];
        for (int i = 0; i < values.Length; i++) cells[i] = new Text(values[i]);
        return cells;
    }
}
