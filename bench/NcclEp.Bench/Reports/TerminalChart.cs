using System;
using System.Globalization;
using System.IO;
using System.Text;
using Spectre.Console;

namespace NcclEp.Bench;

/// <summary>
/// The sweep's chart in the output: a Spectre.Console bar chart on a terminal (it needs no interaction), plain
/// text bars of '#' otherwise (a file or a pipe), one bar per (token count or numSms, phase).
/// </summary>
internal static class TerminalChart
{
    private const int PlainBarWidth = 50;

    public static void Write(ChartData chart, bool interactive, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(chart);
        ArgumentNullException.ThrowIfNull(output);
        if (interactive) WriteSpectre(chart, output);
        else output.Write(Plain(chart));
    }

    /// <summary>The plain-text chart: a heading, then one line per (token count, phase) with a bar scaled to the largest value.</summary>
    public static string Plain(ChartData chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var s = new StringBuilder();
        s.Append(chart.Title).Append(": ").Append(chart.YLabel).Append('\n');
        double max = MaxValue(chart);
        int nameWidth = 5;
        foreach (ChartSeries series in chart.Series) nameWidth = Math.Max(nameWidth, series.Name.Length);
        string header = string.Create(CultureInfo.InvariantCulture, $"{chart.XName,11}  {"phase".PadRight(nameWidth)}  {chart.Unit}");
        s.Append(header).Append('\n');
        for (int i = 0; i < chart.X.Length; i++)
        {
            for (int k = 0; k < chart.Series.Length; k++)
            {
                ChartSeries series = chart.Series[k];
                double v = i < series.Values.Length ? series.Values[i] : double.NaN;
                int bar = max > 0 && double.IsFinite(v) ? (int)Math.Round(PlainBarWidth * Math.Clamp(v / max, 0, 1)) : 0;
                if (bar == 0 && v > 0) bar = 1;
                string tokens = k == 0 ? chart.X[i].ToString(CultureInfo.InvariantCulture) : "";
                string value = double.IsFinite(v) ? chart.Format(v) : "-";
                s.Append(string.Create(CultureInfo.InvariantCulture,
                    $"{tokens,11}  {series.Name.PadRight(nameWidth)}  {new string('#', bar).PadRight(PlainBarWidth)} {value}")).Append('\n');
            }
        }
        return s.ToString();
    }

    private static void WriteSpectre(ChartData chart, TextWriter output)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        var bars = new BarChart
        {
            Width = Math.Clamp(console.Profile.Width, 40, 120),
            Culture = CultureInfo.InvariantCulture,
        };
        bars.Label($"[bold]{Markup.Escape(chart.Title)}[/] ({Markup.Escape(chart.Unit)})").LeftAlignLabel();
        bars.UseValueFormatter((value, _) => chart.Format(value));
        Color[] colors = [Color.DodgerBlue1, Color.Red1, Color.Green, Color.Yellow];
        int nameWidth = 0;
        foreach (ChartSeries series in chart.Series) nameWidth = Math.Max(nameWidth, series.Name.Length);
        for (int i = 0; i < chart.X.Length; i++)
        {
            for (int k = 0; k < chart.Series.Length; k++)
            {
                ChartSeries series = chart.Series[k];
                double v = i < series.Values.Length && double.IsFinite(series.Values[i]) ? series.Values[i] : 0;
                string tokens = k == 0 ? chart.X[i].ToString(CultureInfo.InvariantCulture) : "";
                bars.AddItem(Markup.Escape($"{tokens,6} {series.Name.PadRight(nameWidth)}"), v, colors[k % colors.Length]);
            }
        }
        console.Write(bars);
    }

    private static double MaxValue(ChartData chart)
    {
        double max = 0;
        foreach (ChartSeries series in chart.Series)
            foreach (double v in series.Values)
                if (double.IsFinite(v)) max = Math.Max(max, v);
        return max;
    }
}
