using System;
using System.Collections.Generic;
using System.IO;
using NcclEp.InternodeModel;
using Xunit;

namespace NcclEp.Tests.Internode;

/// <summary>docs/internode.md shows the model's tables as the model prints them today.</summary>
public class InternodeDocTests
{
    private static string RepoFile(params string[] parts)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NcclEp.sln"))) return Path.Combine([dir.FullName, .. parts]);
        }
        throw new InvalidOperationException($"NcclEp.sln not found in any folder above {AppContext.BaseDirectory}.");
    }

    /// <summary>Each table of the output: its consecutive lines that start with '|'.</summary>
    private static List<string> Tables(string text)
    {
        var tables = new List<string>();
        var current = new List<string>();
        foreach (string line in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (line.StartsWith('|')) { current.Add(line); continue; }
            if (current.Count > 0) tables.Add(string.Join("\n", current));
            current.Clear();
        }
        if (current.Count > 0) tables.Add(string.Join("\n", current));
        return tables;
    }

    [Fact]
    public void Every_table_of_the_model_appears_verbatim_in_the_document()
    {
        using var output = new StringWriter();
        new InternodeReport(new ModelOptions()).WriteAll(output);
        string doc = File.ReadAllText(RepoFile("docs", "internode.md")).Replace("\r\n", "\n", StringComparison.Ordinal);

        List<string> tables = Tables(output.ToString());
        Assert.True(tables.Count >= 10, $"the model printed {tables.Count} tables");
        foreach (string table in tables)
            Assert.True(doc.Contains(table, StringComparison.Ordinal), "docs/internode.md lacks (or has an old copy of) the table that begins:\n" + table[..Math.Min(400, table.Length)]);
        Assert.Contains("dotnet run --project tools/NcclEp.InternodeModel -c Release", doc, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_override_the_defaults_and_bad_ones_are_named()
    {
        ModelOptions o = ModelOptions.Parse(["--nodes", "2,3", "--net-gbps", "25.5", "--topk", "4"]);
        Assert.Equal([2, 3], o.Nodes);
        Assert.Equal(25.5, o.Hardware.NetworkGBps);
        Assert.Equal(4, o.LowLatency.TopK);
        Assert.Equal(4, o.HighThroughput.TopK);
        Assert.Contains("--bogus", Assert.Throws<ArgumentException>(() => ModelOptions.Parse(["--bogus", "1"])).Message, StringComparison.Ordinal);
        Assert.Contains("--nodes", Assert.Throws<ArgumentException>(() => ModelOptions.Parse(["--nodes", "2,x"])).Message, StringComparison.Ordinal);
    }
}
