using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security;
using System.Text;

namespace NcclEp.Bench;

/// <summary>
/// A self-contained SVG line chart (<c>--chart PATH.svg</c>), written by hand: title and subtitle, axes with
/// ticks, labels and a light grid, the x axis in log scale over the measured token counts, one polyline with
/// point markers per series, and a legend. Every number is written with the invariant culture.
/// </summary>
internal static class SvgChart
{
    private const double Width = 960, Height = 560;
    private const double Left = 96, Right = 36, Top = 112, Bottom = 76;
    private const double PlotLeft = Left, PlotRight = Width - Right, PlotTop = Top, PlotBottom = Height - Bottom;
    private const double Inset = 28;
    private const string Font = "DejaVu Sans, Helvetica, Arial, sans-serif";

    /// <summary>Writes the chart to <paramref name="path"/> (UTF-8, with an XML declaration), creating its folder.</summary>
    public static void Write(string path, ChartData chart)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + Render(chart), new UTF8Encoding(false));
    }

    /// <summary>The <c>&lt;svg&gt;</c> element (no XML declaration, so that it also embeds in HTML).</summary>
    public static string Render(ChartData chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var s = new StringBuilder(16 * 1024);
        s.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" "))
            .Append(Inv($"font-family=\"{Font}\" font-size=\"13\" role=\"img\" aria-label=\"{Escape(chart.Title)}\">\n"));
        s.Append("<title>").Append(Escape(chart.Title)).Append("</title>\n");
        s.Append(Inv($"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{Height}\" fill=\"#ffffff\"/>\n"));

        // Title and subtitle.
        s.Append(Inv($"<text x=\"{Width / 2}\" y=\"34\" text-anchor=\"middle\" font-size=\"20\" font-weight=\"bold\" fill=\"#111111\">"))
            .Append(Escape(chart.Title)).Append("</text>\n");
        for (int i = 0; i < chart.Subtitle.Length; i++)
        {
            s.Append(Inv($"<text x=\"{Width / 2}\" y=\"{60 + (i * 19)}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#444444\">"))
                .Append(Escape(chart.Subtitle[i])).Append("</text>\n");
        }

        double max = 0;
        foreach (ChartSeries series in chart.Series)
            foreach (double v in series.Values)
                if (double.IsFinite(v)) max = Math.Max(max, v);
        (double top, double step) = NiceScale(max);

        // Grid and y ticks.
        s.Append("<g class=\"y-axis\">\n");
        for (int i = 0; i * step <= top * (1 + 1e-9); i++)
        {
            double value = i * step;
            double y = Y(value, top);
            if (i > 0) s.Append(Inv($"<line x1=\"{N(PlotLeft)}\" y1=\"{N(y)}\" x2=\"{N(PlotRight)}\" y2=\"{N(y)}\" stroke=\"#e6e6e6\"/>\n"));
            s.Append(Inv($"<line x1=\"{N(PlotLeft - 6)}\" y1=\"{N(y)}\" x2=\"{N(PlotLeft)}\" y2=\"{N(y)}\" stroke=\"#333333\"/>\n"));
            s.Append(Inv($"<text x=\"{N(PlotLeft - 10)}\" y=\"{N(y)}\" dy=\"0.35em\" text-anchor=\"end\" fill=\"#333333\">"))
                .Append(Escape(Tick(value, step))).Append("</text>\n");
        }
        s.Append("</g>\n");

        // X ticks: one per measured token count.
        s.Append("<g class=\"x-axis\">\n");
        for (int i = 0; i < chart.X.Length; i++)
        {
            double x = X(chart.X, i);
            s.Append(Inv($"<line x1=\"{N(x)}\" y1=\"{N(PlotTop)}\" x2=\"{N(x)}\" y2=\"{N(PlotBottom)}\" stroke=\"#f0f0f0\"/>\n"));
            s.Append(Inv($"<line x1=\"{N(x)}\" y1=\"{N(PlotBottom)}\" x2=\"{N(x)}\" y2=\"{N(PlotBottom + 6)}\" stroke=\"#333333\"/>\n"));
            s.Append(Inv($"<text x=\"{N(x)}\" y=\"{N(PlotBottom + 22)}\" text-anchor=\"middle\" fill=\"#333333\">{chart.X[i]}</text>\n"));
        }
        s.Append("</g>\n");

        // Axes and their labels.
        s.Append(Inv($"<line x1=\"{N(PlotLeft)}\" y1=\"{N(PlotBottom)}\" x2=\"{N(PlotRight)}\" y2=\"{N(PlotBottom)}\" stroke=\"#333333\" stroke-width=\"1.5\"/>\n"));
        s.Append(Inv($"<line x1=\"{N(PlotLeft)}\" y1=\"{N(PlotTop)}\" x2=\"{N(PlotLeft)}\" y2=\"{N(PlotBottom)}\" stroke=\"#333333\" stroke-width=\"1.5\"/>\n"));
        s.Append(Inv($"<text x=\"{N((PlotLeft + PlotRight) / 2)}\" y=\"{N(Height - 24)}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#111111\">"))
            .Append(Escape(chart.XLabel)).Append("</text>\n");
        double midY = (PlotTop + PlotBottom) / 2;
        s.Append(Inv($"<text x=\"24\" y=\"{N(midY)}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#111111\" transform=\"rotate(-90 24 {N(midY)})\">"))
            .Append(Escape(chart.YLabel)).Append("</text>\n");

        // One polyline per series, with a marker (and a tooltip) per point.
        foreach (ChartSeries series in chart.Series)
        {
            s.Append(Inv($"<g class=\"series\" data-name=\"{Escape(series.Name)}\">\n"));
            var points = new List<string>(series.Values.Length);
            for (int i = 0; i < series.Values.Length && i < chart.X.Length; i++)
            {
                if (!double.IsFinite(series.Values[i])) continue;
                points.Add(Inv($"{N(X(chart.X, i))},{N(Y(series.Values[i], top))}"));
            }
            s.Append(Inv($"<polyline fill=\"none\" stroke=\"{series.Color}\" stroke-width=\"2.5\"{Dash(series)} stroke-linejoin=\"round\" points=\"{string.Join(' ', points)}\"/>\n"));
            for (int i = 0; i < series.Values.Length && i < chart.X.Length; i++)
            {
                double v = series.Values[i];
                if (!double.IsFinite(v)) continue;
                s.Append(Inv($"<circle cx=\"{N(X(chart.X, i))}\" cy=\"{N(Y(v, top))}\" r=\"4\" fill=\"{series.Color}\" stroke=\"#ffffff\" stroke-width=\"1\">"))
                    .Append("<title>").Append(Escape(Inv($"{series.Name}, {chart.X[i]} tokens/rank: {chart.Format(v)} {chart.Unit}"))).Append("</title></circle>\n");
            }
            s.Append("</g>\n");
        }

        // Legend: in the corner of the plot that the lines cross least.
        const double rowH = 22;
        int longest = 0;
        foreach (ChartSeries series in chart.Series) longest = Math.Max(longest, series.Name.Length);
        double legendW = Math.Max(150, 62 + (7.5 * longest));
        double legendH = 12 + (rowH * chart.Series.Length);
        (double lx, double ly) = LegendCorner(chart, top, legendW, legendH);
        s.Append("<g class=\"legend\">\n");
        s.Append(Inv($"<rect x=\"{N(lx)}\" y=\"{N(ly)}\" width=\"{N(legendW)}\" height=\"{N(legendH)}\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#cccccc\" rx=\"4\"/>\n"));
        for (int i = 0; i < chart.Series.Length; i++)
        {
            ChartSeries series = chart.Series[i];
            double y = ly + 17 + (i * rowH);
            s.Append(Inv($"<line x1=\"{N(lx + 10)}\" y1=\"{N(y)}\" x2=\"{N(lx + 40)}\" y2=\"{N(y)}\" stroke=\"{series.Color}\" stroke-width=\"2.5\"{Dash(series)}/>\n"));
            s.Append(Inv($"<circle cx=\"{N(lx + 25)}\" cy=\"{N(y)}\" r=\"4\" fill=\"{series.Color}\"/>\n"));
            s.Append(Inv($"<text x=\"{N(lx + 50)}\" y=\"{N(y)}\" dy=\"0.35em\" fill=\"#111111\">")).Append(Escape(series.Name)).Append("</text>\n");
        }
        s.Append("</g>\n");
        s.Append("</svg>\n");
        return s.ToString();
    }

    /// <summary>
    /// The top-left corner of the legend box: top left, top right, bottom right or bottom left inside the plot,
    /// the first with the fewest samples of the lines (20 per segment) under it.
    /// </summary>
    private static (double X, double Y) LegendCorner(ChartData chart, double top, double w, double h)
    {
        const double margin = 12;
        (double X, double Y)[] corners =
        [
            (PlotLeft + margin, PlotTop + margin),
            (PlotRight - margin - w, PlotTop + margin),
            (PlotRight - margin - w, PlotBottom - margin - h),
            (PlotLeft + margin, PlotBottom - margin - h),
        ];
        var hits = new int[corners.Length];
        foreach (ChartSeries series in chart.Series)
        {
            int n = Math.Min(series.Values.Length, chart.X.Length);
            for (int i = 0; i < n; i++)
            {
                if (!double.IsFinite(series.Values[i])) continue;
                double x0 = X(chart.X, i), y0 = Y(series.Values[i], top);
                bool next = i + 1 < n && double.IsFinite(series.Values[i + 1]);
                double x1 = next ? X(chart.X, i + 1) : x0, y1 = next ? Y(series.Values[i + 1], top) : y0;
                for (int k = 0; k <= 20; k++)
                {
                    double px = x0 + ((x1 - x0) * k / 20), py = y0 + ((y1 - y0) * k / 20);
                    for (int c = 0; c < corners.Length; c++)
                    {
                        if (px >= corners[c].X - 6 && px <= corners[c].X + w + 6 && py >= corners[c].Y - 6 && py <= corners[c].Y + h + 6) hits[c]++;
                    }
                }
            }
        }
        int best = 0;
        for (int c = 1; c < corners.Length; c++) if (hits[c] < hits[best]) best = c;
        return corners[best];
    }

    /// <summary>The axis top and tick step: 1, 2, 2.5 or 5 × 10^n, about five ticks, top ≥ <paramref name="max"/>.</summary>
    internal static (double Top, double Step) NiceScale(double max)
    {
        if (!(max > 0) || !double.IsFinite(max)) return (1, 0.2);
        double raw = max / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / magnitude;
        double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * magnitude;
        double top = Math.Ceiling((max / step) - 1e-9) * step;
        return (Math.Max(top, step), step);
    }

    /// <summary>The x of point <paramref name="i"/>: log2 of the token count across the plot, inset from the axes.</summary>
    private static double X(int[] xs, int i)
    {
        double lo = double.MaxValue, hi = double.MinValue;
        foreach (int v in xs)
        {
            double l = Math.Log2(Math.Max(1, v));
            lo = Math.Min(lo, l);
            hi = Math.Max(hi, l);
        }
        double span = PlotRight - PlotLeft - (2 * Inset);
        if (!(hi > lo)) return (PlotLeft + PlotRight) / 2;
        return PlotLeft + Inset + (span * (Math.Log2(Math.Max(1, xs[i])) - lo) / (hi - lo));
    }

    private static double Y(double value, double top) =>
        PlotBottom - ((PlotBottom - PlotTop) * Math.Clamp(value / top, 0, 1));

    private static string Tick(double value, double step) =>
        Math.Round(value, step >= 1 ? 1 : 6).ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>The dash attribute of a bound's line (with its leading space), or nothing.</summary>
    private static string Dash(ChartSeries series) => series.Dashed ? " stroke-dasharray=\"7 5\"" : "";

    private static string N(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString text) => FormattableString.Invariant(text);

    private static string Escape(string text) => SecurityElement.Escape(text) ?? "";
}
