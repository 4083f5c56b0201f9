using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
namespace NcclEp.InternodeModel;

/// <summary>A Markdown table with padded columns (numbers right-aligned), written once it is complete.</summary>
public sealed class MarkdownTable
{
    private readonly string[] _headers;
    private readonly bool[] _numeric;
    private readonly List<string[]> _rows = [];

    /// <param name="headers">Column headers; a header that starts with '#' marks a left-aligned text column (the '#' is dropped).</param>
    public MarkdownTable(params string[] headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        _numeric = headers.Select(h => !h.StartsWith('#')).ToArray();
        _headers = headers.Select(h => h.TrimStart('#')).ToArray();
    }

    public MarkdownTable Row(params string[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Length != _headers.Length)
            throw new ArgumentException($"{cells.Length} cells for {_headers.Length} columns.", nameof(cells));
        _rows.Add(cells);
        return this;
    }

    public void WriteTo(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int[] width = _headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        writer.WriteLine("| " + string.Join(" | ", _headers.Select((h, i) => h.PadRight(width[i]))) + " |");
        writer.WriteLine("|" + string.Join("|", width.Select((w, i) => _numeric[i] ? new string('-', w + 1) + ":" : new string('-', w + 2))) + "|");
        foreach (string[] row in _rows)
            writer.WriteLine("| " + string.Join(" | ", row.Select((c, i) => _numeric[i] ? c.PadLeft(width[i]) : c.PadRight(width[i]))) + " |");
        writer.WriteLine();
    }
}
