using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security;
using System.Text;

namespace NcclEp.Bench;

/// <summary>A self-contained HTML page (<c>--html PATH.html</c>): the SVG chart inline, the table and the run's details.</summary>
internal static class HtmlReport
{
    public static void Write(string path, ArtifactContext context)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, Render(context), new UTF8Encoding(false));
    }

    public static string Render(ArtifactContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ChartData chart = context.Chart;
        var s = new StringBuilder(32 * 1024);
        s.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        s.Append("<title>NcclEp.Bench: ").Append(E(chart.Title)).Append("</title>\n");
        s.Append("<style>\n")
            .Append("body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 24px; color: #111; }\n")
            .Append("table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }\n")
            .Append("th, td { border: 1px solid #ccc; padding: 3px 9px; text-align: right; }\n")
            .Append("th:first-child, td:first-child { text-align: left; }\n")
            .Append("th { background: #f3f3f3; }\n")
            .Append("code { background: #f6f6f6; padding: 1px 4px; }\n")
            .Append("ul { line-height: 1.5; }\n")
            .Append("</style>\n</head>\n<body>\n");
        s.Append("<h1>").Append(E(chart.Title)).Append("</h1>\n<ul>\n");
        s.Append("<li>Device/backend: ").Append(E(context.BackendLine)).Append("</li>\n");
        s.Append("<li>Machine: ").Append(E(ResultTable.Machine())).Append("</li>\n");
        s.Append("<li>Date: ").Append(E(context.Date.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))).Append("</li>\n");
        s.Append("<li>Command: <code>NcclEp.Bench ").Append(E(ResultTable.Arguments(context.Args))).Append("</code></li>\n");
        s.Append("<li>Config: <code>").Append(E(context.Options.Describe())).Append("</code></li>\n");
        s.Append("<li>").Append(E(ResultTable.TimingNote(context.Options))).Append("</li>\n</ul>\n");
        s.Append("<figure>\n").Append(SvgChart.Render(chart)).Append("</figure>\n");
        (string[] columns, List<string[]> rows) = ResultTable.ForRun(context.Options, context.Results);
        AppendTable(s, columns, rows);
        bool bySms = context.Options.SmsSweep is not null;
        AppendTable(s, LinkTable.Columns(bySms), LinkTable.Rows(context.Results, bySms));
        List<string[]> ceiling = CeilingTable.Rows(context.Results, bySms);
        if (ceiling.Count > 0) AppendTable(s, CeilingTable.Columns(bySms), ceiling);
        s.Append("<ul>\n");
        foreach (string line in LinkTable.Lines(context.Results, bySms)) s.Append("<li>").Append(E(line)).Append("</li>\n");
        foreach (string line in CeilingTable.Lines(context.Results, bySms)) s.Append("<li>").Append(E(line)).Append("</li>\n");
        foreach (string line in ResultTable.Formulas(context.Results)) s.Append("<li>").Append(E(line)).Append("</li>\n");
        s.Append("</ul>\n</body>\n</html>\n");
        return s.ToString();
    }

    private static void AppendTable(StringBuilder s, string[] columns, List<string[]> rows)
    {
        s.Append("<table>\n<thead><tr>");
        foreach (string c in columns) s.Append("<th>").Append(E(c)).Append("</th>");
        s.Append("</tr></thead>\n<tbody>\n");
        foreach (string[] row in rows)
        {
            s.Append("<tr>");
            foreach (string cell in row) s.Append("<td>").Append(E(cell)).Append("</td>");
            s.Append("</tr>\n");
        }
        s.Append("</tbody>\n</table>\n");
    }

    private static string E(string text) => SecurityElement.Escape(text) ?? "";
}
