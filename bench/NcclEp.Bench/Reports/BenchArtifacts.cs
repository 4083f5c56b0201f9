using System;
using System.Collections.Generic;
using System.IO;

namespace NcclEp.Bench;

/// <summary>What the chart and report writers need about a finished run.</summary>
internal sealed record ArtifactContext(
    BenchOptions Options,
    string BackendLine,
    string[] Args,
    IReadOnlyList<SizeResult> Results,
    DateTimeOffset Date)
{
    public ChartData Chart { get; } = ChartData.From(Results, Options, BackendLine, Date);
}

/// <summary>
/// After the tables: the terminal chart of a sweep, then the files asked for with <c>--chart</c> (SVG),
/// <c>--html</c> (a page embedding the SVG) and <c>--markdown</c> (a bench/results file).
/// </summary>
internal static class BenchArtifacts
{
    /// <summary>Writes them; false (after a message on stderr) when a file cannot be written.</summary>
    public static bool Write(ConsoleReport report, BenchOptions options, string backendLine, string[] args, IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(options);
        var context = new ArtifactContext(options, backendLine, args, results, DateTimeOffset.UtcNow);
        if (results.Count > 1 && !options.NoTerminalChart) TerminalChart.Write(context.Chart, report.Interactive, Console.Out);

        string? current = null;
        try
        {
            if (options.ChartPath is not null)
            {
                current = options.ChartPath;
                SvgChart.Write(options.ChartPath, context.Chart);
                report.Line($"chart: {options.ChartPath}");
            }
            if (options.HtmlPath is not null)
            {
                current = options.HtmlPath;
                HtmlReport.Write(options.HtmlPath, context);
                report.Line($"html: {options.HtmlPath}");
            }
            if (options.MarkdownPath is not null)
            {
                current = options.MarkdownPath;
                MarkdownReport.Write(options.MarkdownPath, context);
                report.Line($"markdown: {options.MarkdownPath}");
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            Console.Error.WriteLine($"error: cannot write {current}: {e.Message}");
            return false;
        }
    }
}
