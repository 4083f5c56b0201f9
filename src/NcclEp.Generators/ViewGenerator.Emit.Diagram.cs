using System.Collections.Generic;
using NcclEp.Generators.Helpers;
using NcclEp.Generators.Models;

namespace NcclEp.Generators;

public sealed partial class ViewGenerator
{
    private static void WriteTypeDoc(CodeWriter w, ViewModel m)
    {
        w.Doc("<summary>");
        if (m.Summary.Length != 0) w.Doc(m.Summary);
        string what = m.Record is not null
            ? $"<c>{Shape(m)}</c> <see cref=\"{m.Record.TypeName}\"/> records ({m.Record.Width} {KnownNames.NameOf(KnownNames.DataTypes, m.DataType)} each)"
            : m.TypeParameter is not null
                ? $"<c>{Shape(m)}</c> elements of <typeparamref name=\"{m.TypeParameter}\"/>"
                : $"<c>{Shape(m)}</c> {KnownNames.NameOf(KnownNames.DataTypes, m.DataType)} elements";
        w.Doc($"A typed, bounds-checked view of {what} over memory the host can read.");
        w.Doc("</summary>");
        if (m.TypeParameter is not null)
        {
            w.Doc($"<typeparam name=\"{m.TypeParameter}\"><see cref=\"BFloat16\"/>, <see cref=\"float\"/> or <see cref=\"Float8E4M3\"/> (the rows of an FP8 dispatch): the element type of the descriptor's <see cref=\"EpDataType\"/>.</typeparam>");
        }
        w.Doc("<remarks>");
        w.Doc("<para>");
        if (m.Layout >= 0)
            w.Doc($"The rows of the <see cref=\"EpLayout.{KnownNames.NameOf(KnownNames.Layouts, m.Layout)}\"/> layout.");
        w.Doc("The memory must be readable by the host: buffers of the Host backend, or a host mirror of device memory");
        w.Doc("(never a Cuda device pointer). The innermost unit below is contiguous; the others may be strided:");
        w.Doc("</para>");
        w.Doc("<code>");
        foreach (string line in Diagram(m)) w.Doc(line);
        w.Doc("</code>");
        w.Doc("Indexers and rows check every index and throw <see cref=\"ArgumentOutOfRangeException\"/> outside the view;");
        w.Doc("nothing allocates.");
        w.Doc("</remarks>");
    }

    /// <summary>
    /// An ASCII picture of the view: one box line per contiguous unit (a row of the last dimension, or one
    /// record), labelled by the indices that select it.
    /// </summary>
    internal static List<string> Diagram(ViewModel m)
    {
        EquatableArray<ViewDimension> d = m.Dimensions;
        int labelled = Strided(m);
        string header = m.Record is not null
            ? $"{m.Record.TypeName} {{ {string.Join(", ", m.Record.Fields)} }}"
            : $"{d[d.Length - 1].Index} = 0 .. {d[d.Length - 1].Property}-1 (contiguous)";

        var rows = new List<(string Label, string Note)>();
        const string Separator = "\u0001";
        if (labelled == 0)
        {
            rows.Add(("", ""));
        }
        else if (labelled == 1)
        {
            string a = d[0].Index, count = d[0].Property;
            rows.Add(($"{a} = 0", ""));
            rows.Add(($"{a} = 1", ""));
            rows.Add(("...", $"{count} {(m.Record is null ? "rows" : "records")}, one stride apart"));
            rows.Add(($"{a} = {count}-1", ""));
        }
        else
        {
            string a = d[0].Index, b = d[1].Index;
            string pad = new(' ', $"{a} = 0".Length + 2);
            rows.Add(($"{a} = 0  {b} = 0", ""));
            rows.Add(($"{pad}{b} = 1", $"{d[1].Property} rows per block,"));
            rows.Add(($"{pad}...", "one row stride apart"));
            rows.Add(($"{pad}{b} = {d[1].Property}-1", ""));
            rows.Add((Separator, ""));
            rows.Add(($"{a} = 1  {b} = 0", $"{d[0].Property} blocks,"));
            rows.Add(($"{pad}...", "one block stride apart"));
            rows.Add((Separator, ""));
            rows.Add(("...", ""));
        }

        int labelWidth = 0;
        foreach ((string label, _) in rows) labelWidth = System.Math.Max(labelWidth, label == Separator ? 0 : label.Length);
        labelWidth += 2;
        int inner = System.Math.Max(header.Length + 4, 24);
        string left = "  ";
        string border = left + new string(' ', labelWidth) + "+" + new string('-', inner) + "+";
        var lines = new List<string>
        {
            left + new string(' ', labelWidth + 3) + header,
            border,
        };
        foreach ((string label, string note) in rows)
        {
            if (label == Separator)
            {
                lines.Add(border);
                continue;
            }
            string line = left + label.PadRight(labelWidth) + "|" + new string(' ', inner) + "|";
            if (label == "..." && labelled == 2) line = left + label.PadRight(labelWidth) + " " + new string(' ', inner) + " ";
            if (note.Length != 0) line += "  " + note;
            lines.Add(line.TrimEnd());
        }
        if (labelled < 2) lines.Add(border);
        return lines;
    }
}
