using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Xml.Linq;
using NcclEp.Bench;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>The bench's hand-written SVG chart (<c>--chart</c>): well-formed, complete, culture-invariant.</summary>
public sealed class SvgChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static ChartData Sample(string unit = "µs") => new(
        "Latency vs tokens per rank: LL sweep",
        ["expert-major · 2 ranks · hidden 2048 <&> \"quoted\"", "backend: host (no GPU: libcuda.so.1 not found)"],
        "tokens per rank (log scale)",
        "median latency, slowest rank (µs)",
        unit,
        [1, 2, 4, 8, 16, 32, 64, 128],
        [
            new ChartSeries("dispatch", ChartData.DispatchColor, [5.4, 7.1, 10.8, 19.2, 43.8, 95.3, 367.25, 364]),
            new ChartSeries("combine", ChartData.CombineColor, [42, 50.9, 86.8, 167, 332, 677, 2155.5, 2262]),
        ]);

    [Fact]
    public void Chart_is_well_formed_svg_with_a_polyline_per_phase_a_legend_and_the_escaped_title()
    {
        XDocument doc = XDocument.Parse(SvgChart.Render(Sample()));
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        XElement[] lines = doc.Descendants(Svg + "polyline").ToArray();
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal(8, ((string)l.Attribute("points")!).Split(' ').Length));
        Assert.Equal(16, doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series").Descendants(Svg + "circle").Count());
        string[] texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToArray();
        Assert.Contains("Latency vs tokens per rank: LL sweep", texts);
        Assert.Contains("expert-major · 2 ranks · hidden 2048 <&> \"quoted\"", texts);
        Assert.Contains("dispatch", texts);
        Assert.Contains("combine", texts);
        Assert.Contains("128", texts);
        Assert.Contains("2500", texts); // the y axis ends at the nice value above the largest point
    }

    [Fact]
    public void Numbers_are_written_with_the_invariant_culture_whatever_the_current_one()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = ".";
        string svg;
        try
        {
            CultureInfo.CurrentCulture = comma;
            svg = SvgChart.Render(Sample("GB/s"));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
        XDocument doc = XDocument.Parse(svg);
        foreach (XElement line in doc.Descendants(Svg + "polyline"))
        {
            foreach (string point in ((string)line.Attribute("points")!).Split(' '))
            {
                string[] xy = point.Split(',');
                Assert.Equal(2, xy.Length);
                Assert.True(double.TryParse(xy[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _), point);
                Assert.True(double.TryParse(xy[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _), point);
            }
        }
        foreach (XAttribute a in doc.Descendants().Attributes().Where(a => a.Name.LocalName is "x" or "y" or "cx" or "cy" or "x1" or "y2"))
            Assert.True(double.TryParse(a.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"{a.Name}={a.Value}");
        Assert.Contains("2262", svg, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1, 0.2)]
    [InlineData(2262, 2500, 500)]
    [InlineData(3.19, 4, 1)]
    [InlineData(9.7, 10, 2)]
    [InlineData(0.042, 0.05, 0.01)]
    public void Y_axis_ends_at_a_nice_value_above_the_largest_point(double max, double top, double step)
    {
        (double t, double s) = SvgChart.NiceScale(max);
        Assert.Equal(top, t, 9);
        Assert.Equal(step, s, 9);
    }
}
