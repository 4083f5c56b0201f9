using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NcclEp.Bench;

/// <summary>What one child rank of <c>--procs</c> measured at one token count.</summary>
internal sealed record RankSize(int Tokens, PhaseStats Update, PhaseStats Dispatch, PhaseStats Combine, SteadyState.Result Steady, RankValidation? Validation);

/// <summary>One child rank's report: its fabric, its sizes, or why it failed.</summary>
internal sealed record RankReport(int Rank, int World, int Device, string Fabric, string? Error, IReadOnlyList<RankSize> Sizes);

/// <summary>The file each child rank writes for the parent (JSON, written to a temporary file and renamed into place).</summary>
internal static class ProcsResults
{
    public static void Write(string path, RankReport report)
    {
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        using (FileStream file = File.Create(temp))
        using (var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("rank", report.Rank);
            w.WriteNumber("world", report.World);
            w.WriteNumber("device", report.Device);
            w.WriteString("fabric", report.Fabric);
            if (report.Error is null) w.WriteNull("error");
            else w.WriteString("error", report.Error);
            w.WriteStartArray("sizes");
            foreach (RankSize s in report.Sizes)
            {
                w.WriteStartObject();
                w.WriteNumber("tokens_per_rank", s.Tokens);
                Phase(w, "update", s.Update);
                Phase(w, "dispatch", s.Dispatch);
                Phase(w, "combine", s.Combine);
                w.WriteStartObject("back_to_back");
                w.WriteNumber("dispatch_us", s.Steady.DispatchUs);
                w.WriteNumber("combine_us", s.Steady.CombineUs);
                w.WriteNumber("step_us", s.Steady.StepUs);
                w.WriteEndObject();
                if (s.Validation is null)
                {
                    w.WriteNull("validation");
                }
                else
                {
                    w.WriteStartObject("validation");
                    w.WriteNumber("rows", s.Validation.Rows);
                    w.WriteNumber("tokens", s.Validation.Tokens);
                    if (s.Validation.Mismatch is null) w.WriteNull("mismatch");
                    else w.WriteString("mismatch", s.Validation.Mismatch);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a child's file; null if it is missing or unreadable (the child died before writing it).</summary>
    public static RankReport? TryRead(string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            int rank = root.GetProperty("rank").GetInt32();
            var sizes = new List<RankSize>();
            foreach (JsonElement s in root.GetProperty("sizes").EnumerateArray())
            {
                JsonElement steady = s.GetProperty("back_to_back");
                JsonElement v = s.GetProperty("validation");
                sizes.Add(new RankSize(
                    s.GetProperty("tokens_per_rank").GetInt32(),
                    Phase(s.GetProperty("update")),
                    Phase(s.GetProperty("dispatch")),
                    Phase(s.GetProperty("combine")),
                    new SteadyState.Result(steady.GetProperty("dispatch_us").GetDouble(), steady.GetProperty("combine_us").GetDouble(), steady.GetProperty("step_us").GetDouble()),
                    v.ValueKind == JsonValueKind.Null ? null
                        : new RankValidation(rank, v.GetProperty("rows").GetInt64(), v.GetProperty("tokens").GetInt64(), v.GetProperty("mismatch").GetString())));
            }
            JsonElement error = root.GetProperty("error");
            return new RankReport(rank, root.GetProperty("world").GetInt32(), root.GetProperty("device").GetInt32(),
                root.GetProperty("fabric").GetString() ?? string.Empty, error.ValueKind == JsonValueKind.Null ? null : error.GetString(), sizes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A phase's times; null for a phase that was not run (the update under <c>--routing fused</c>).</summary>
    private static void Phase(Utf8JsonWriter w, string name, PhaseStats s)
    {
        w.WriteStartObject(name);
        if (s.Ran)
        {
            w.WriteNumber("median_us", s.MedianUs);
            w.WriteNumber("p90_us", s.P90Us);
        }
        else
        {
            w.WriteNull("median_us");
            w.WriteNull("p90_us");
        }
        w.WriteEndObject();
    }

    private static PhaseStats Phase(JsonElement e) =>
        e.GetProperty("median_us").ValueKind == JsonValueKind.Null ? PhaseStats.NotRun
            : new(e.GetProperty("median_us").GetDouble(), e.GetProperty("p90_us").GetDouble());
}
