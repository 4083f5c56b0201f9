using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>The machine-readable results (<c>--json PATH</c>), written with Utf8JsonWriter (no reflection, trim-safe).</summary>
internal static class JsonReport
{
    public static void Write(string path, string backend, string backendLine, string[] args, BenchOptions o,
        IReadOnlyList<SizeResult> results, ValidationSummary validation)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        using FileStream file = File.Create(path);
        using var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("tool", "NcclEp.Bench");
        w.WriteString("date", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("command", "NcclEp.Bench " + string.Join(' ', args));
        w.WriteString("backend", backend);
        w.WriteString("backend_description", backendLine);
        w.WriteString("machine", $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {Environment.OSVersion}");
        w.WriteString("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
        // Which kernels ran: a variant directory (NCCLEP_KERNEL_SOURCE_DIR) or the embedded ones, and their hash.
        w.WriteString("kernel_source", NcclEp.Cuda.KernelSource.SourceDirectory ?? "embedded");
        w.WriteString("kernel_source_sha256", NcclEp.Cuda.KernelSource.Fingerprint);
        w.WriteString("mode", BenchNames.Mode(o.EffectiveMode));
        w.WriteString("layout", BenchNames.Layout(o.Layout));
        w.WriteString("dtype", BenchNames.DataType(o));
        if (o.Fp8) w.WriteString("fp8_scales", BenchNames.Fp8ScalesName(o.Quantization));
        else w.WriteNull("fp8_scales");
        w.WriteNumber("ranks", o.Ranks);
        w.WriteNumber("hidden", o.Hidden);
        w.WriteNumber("topk", o.TopK);
        w.WriteNumber("experts", o.Experts);
        w.WriteNumber("align", o.Align);
        w.WriteString("combine", BenchNames.Combine(o.Combine));
        w.WriteString("routing", BenchNames.Routing(o.RoutesInDispatch));
        w.WriteString("routing_note", ResultTable.RoutingNote(o.RoutesInDispatch));
        w.WriteNumber("num_sms", o.NumSms);
        if (o.SmsSweep is null)
        {
            w.WriteNull("sms_sweep");
        }
        else
        {
            w.WriteStartArray("sms_sweep");
            foreach (int sms in o.SmsSweep) w.WriteNumberValue(sms);
            w.WriteEndArray();
        }
        w.WriteNumber("iters", o.Iters);
        w.WriteNumber("warmup", o.Warmup);
        w.WriteNumber("seed", o.Seed);
        w.WriteString("timing", "median and p90 µs per rank over iters after warm-ups; slowest rank (max over ranks) reported");
        w.WriteString("bytes", "remote + local rows of all ranks × hidden × element size (an FP8 dispatch: × (hidden + its scales) B); GB/s = bytes / slowest rank's median / 1e9 per s");
        w.WriteString("ceiling", CeilingResult.Method + "; its bytes are the remote bytes only; high throughput only");
        w.WriteString("gbps_ep_bench_per_rank", SizeResult.EpBenchFormula);
        w.WriteString("link_bound", LinkResult.Formula + "; link: " + LinkResult.Method + "; null where the link was not measured");
        w.WriteStartArray("results");
        foreach (SizeResult r in results) WriteResult(w, r);
        w.WriteEndArray();
        WriteValidation(w, "validation", validation);
        w.WriteEndObject();
    }

    private static void WriteResult(Utf8JsonWriter w, SizeResult r)
    {
        w.WriteStartObject();
        w.WriteNumber("tokens_per_rank", r.Tokens);
        w.WriteStartArray("tokens_per_rank_list");  // each rank's own count (--tokens-per-rank); tokens_per_rank is the most
        foreach (int tokens in r.TokensPerRank) w.WriteNumberValue(tokens);
        w.WriteEndArray();
        w.WriteNumber("num_sms", r.NumSms);
        if (r.Blocks > 0) w.WriteNumber("blocks", r.Blocks);
        else w.WriteNull("blocks");
        if (r.PhaseBlocks.Dispatch > 0) w.WriteNumber("dispatch_blocks", r.PhaseBlocks.Dispatch);
        else w.WriteNull("dispatch_blocks");
        if (r.PhaseBlocks.Combine > 0) w.WriteNumber("combine_blocks", r.PhaseBlocks.Combine);
        else w.WriteNull("combine_blocks");
        w.WriteStartObject("update");  // null times under --routing fused: the dispatch's include the routing
        NumberOrNull(w, "median_us", r.Update.MedianUs);
        NumberOrNull(w, "p90_us", r.Update.P90Us);
        w.WriteEndObject();
        WritePhase(w, "dispatch", r.Dispatch, r.Traffic.DispatchRows, r.Traffic.DispatchBytes, r.Traffic.RemoteDispatchBytes,
            r.DispatchGBps, r.Ranks, r.Traffic.DispatchFormula(r.Config), r.DispatchPercentOfCeiling);
        WriteLinkFigures(w, r.DispatchGBpsEpBench, r.Ceiling.Bytes.BusiestRankDispatchBytes, r.DispatchLinkBoundUs, r.DispatchPercentOfLink, r.Baseline.DispatchUs);
        w.WriteEndObject();
        WritePhase(w, "combine", r.Combine, r.Traffic.CombineRows, r.Traffic.CombineBytes, r.Traffic.RemoteCombineBytes,
            r.CombineGBps, r.Ranks, r.Traffic.CombineFormula(r.Config), r.CombinePercentOfCeiling);
        WriteLinkFigures(w, r.CombineGBpsEpBench, r.Ceiling.Bytes.BusiestRankCombineBytes, r.CombineLinkBoundUs, r.CombinePercentOfLink, r.Baseline.CombineUs);
        w.WriteEndObject();
        w.WriteNumber("ep_bench_selections", r.Traffic.Slots);
        WriteLink(w, r.Link);
        WriteBaseline(w, r.Baseline);
        WriteCeiling(w, r);
        WriteOverlap(w, r.Overlap);
        WriteZeroCopy(w, r.ZeroCopy);
        WriteConcurrent(w, r.Concurrent);
        TimelineJson.Write(w, r.Timeline);
        GraphStepJson.Write(w, r);
        WriteValidation(w, "validation", r.Validation);
        w.WriteEndObject();
    }

    /// <summary><c>--overlap-work-us</c>: each phase alone, with the work between send and complete, and the part hidden; null where not run.</summary>
    private static void WriteOverlap(Utf8JsonWriter w, OverlapProbe.Result? o)
    {
        if (o is null)
        {
            w.WriteNull("overlap");
            return;
        }
        w.WriteStartObject("overlap");
        w.WriteString("formula", OverlapProbe.Formula);
        w.WriteNumber("work_us", o.WorkUs);
        foreach ((string name, double alone, double split, double hidden) in new[]
                 {
                     ("dispatch", o.DispatchUs, o.DispatchSplitUs, o.DispatchHiddenPercent),
                     ("combine", o.CombineUs, o.CombineSplitUs, o.CombineHiddenPercent),
                 })
        {
            w.WriteStartObject(name);
            w.WriteNumber("alone_us", alone);
            w.WriteNumber("send_work_complete_us", split);
            NumberOrNull(w, "hidden_percent", hidden);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary><c>--zero-copy</c>: the dispatch into the caller's buffer and into the window's rows; null where not run.</summary>
    private static void WriteZeroCopy(Utf8JsonWriter w, ZeroCopyProbe.Result? z)
    {
        if (z is null)
        {
            w.WriteNull("zero_copy");
            return;
        }
        w.WriteStartObject("zero_copy");
        w.WriteNumber("dispatch_copy_us", z.CopyUs);
        w.WriteNumber("dispatch_window_us", z.WindowUs);
        w.WriteNumber("saved_us", z.SavedUs);
        w.WriteBoolean("rows_identical", z.SameRows);
        w.WriteEndObject();
    }

    /// <summary><c>--concurrent-compute</c>: the SMs left to the compute and, per phase, the EP times and the compute's throughput, each alone and together; null where not run.</summary>
    private static void WriteConcurrent(Utf8JsonWriter w, ConcurrentComputeProbe.Result? c)
    {
        if (c is null)
        {
            w.WriteNull("concurrent_compute");
            return;
        }
        w.WriteStartObject("concurrent_compute");
        w.WriteString("formula", ConcurrentComputeProbe.Formula);
        w.WriteNumber("sms_left", c.SmsLeft);
        w.WriteNumber("threads_per_block", ConcurrentCompute.ThreadsPerBlock);
        w.WriteBoolean("result_checked", true); // a wrong sum fails the run before any figure is written
        foreach ((string name, ConcurrentComputeProbe.Phase p) in new[] { ("dispatch", c.Dispatch), ("combine", c.Combine) })
        {
            w.WriteStartObject(name);
            w.WriteNumber("ep_alone_us", p.EpAloneUs);
            w.WriteNumber("ep_concurrent_us", p.EpConcurrentUs);
            NumberOrNull(w, "ep_ratio", p.EpRatio);
            w.WriteNumber("compute_flops", p.ComputeFlops);
            w.WriteNumber("compute_alone_us", p.ComputeAloneUs);
            w.WriteNumber("compute_concurrent_us", p.ComputeConcurrentUs);
            NumberOrNull(w, "compute_alone_tflops", p.ComputeAloneTflops);
            NumberOrNull(w, "compute_concurrent_tflops", p.ComputeConcurrentTflops);
            NumberOrNull(w, "compute_kept_percent", p.ComputeKeptPercent);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>The peer-copy ceiling: measured or why not, and per phase its time, remote bytes (with formula) and GB/s.</summary>
    private static void WriteCeiling(Utf8JsonWriter w, SizeResult r)
    {
        CeilingResult c = r.Ceiling;
        w.WriteStartObject("ceiling");
        w.WriteBoolean("measured", c.Measured);
        StringOrNull(w, "not_measured_because", c.NotMeasured);
        WriteCeilingPhase(w, "dispatch", c.Measured, c.Dispatch, c.Bytes.TotalDispatchRows, c.Bytes.DispatchBytes, c.DispatchGBps, c.Bytes.DispatchFormula(r.Config));
        WriteCeilingPhase(w, "combine", c.Measured, c.Combine, c.Bytes.TotalCombineRows, c.Bytes.CombineBytes, c.CombineGBps, c.Bytes.CombineFormula(r.Config));
        w.WriteEndObject();
    }

    private static void WriteCeilingPhase(Utf8JsonWriter w, string name, bool measured, PhaseStats s, long rows, long bytes, double gbps, string formula)
    {
        w.WriteStartObject(name);
        NumberOrNull(w, "median_us", measured ? s.MedianUs : double.NaN);
        NumberOrNull(w, "p90_us", measured ? s.P90Us : double.NaN);
        w.WriteNumber("rows", rows);
        w.WriteNumber("remote_bytes", bytes);
        NumberOrNull(w, "gbps_all_ranks", gbps);
        w.WriteString("formula", formula);
        w.WriteEndObject();
    }

    /// <summary>A phase's ep_bench GB/s per rank, link bound (null where the link was not measured) and baseline time (null where it did not run).</summary>
    private static void WriteLinkFigures(Utf8JsonWriter w, double epBench, long busiestRankBytes, double boundUs, double percentOfLink, double baselineUs)
    {
        w.WriteNumber("gbps_ep_bench_per_rank", epBench);
        w.WriteNumber("busiest_rank_remote_bytes", busiestRankBytes);
        NumberOrNull(w, "link_bound_us", boundUs);
        NumberOrNull(w, "percent_of_link", percentOfLink);
        NumberOrNull(w, "nccl_all_to_all_us", baselineUs);
    }

    /// <summary>The 1 GiB peer copy the link bound divides by: measured or why not, its time and GB/s.</summary>
    private static void WriteLink(Utf8JsonWriter w, LinkResult link)
    {
        w.WriteStartObject("link");
        w.WriteBoolean("measured", link.Measured);
        StringOrNull(w, "not_measured_because", link.NotMeasured);
        w.WriteNumber("copy_bytes", LinkResult.CopyBytes);
        NumberOrNull(w, "median_us", link.Measured ? link.Copy.MedianUs : double.NaN);
        NumberOrNull(w, "gbps", link.GBps);
        w.WriteEndObject();
    }

    /// <summary>The NCCL all-to-all baseline of the same routing: ran or why not (its times are in each phase).</summary>
    private static void WriteBaseline(Utf8JsonWriter w, BaselineResult baseline)
    {
        w.WriteStartObject("baseline");
        w.WriteBoolean("ran", baseline.Ran);
        StringOrNull(w, "not_run_because", baseline.NotRun);
        w.WriteString("method", BaselineResult.Method);
        w.WriteEndObject();
    }

    private static void StringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    /// <summary>A number, or null where there is none (NaN: Utf8JsonWriter refuses it).</summary>
    internal static void NumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>Opens the phase's object and writes its times, bytes and rates (the caller adds the link figures and closes it).</summary>
    private static void WritePhase(Utf8JsonWriter w, string name, PhaseStats s, long rows, long bytes, long remote,
        double gbps, int ranks, string formula, double percentOfCeiling)
    {
        w.WriteStartObject(name);
        w.WriteNumber("median_us", s.MedianUs);
        w.WriteNumber("p90_us", s.P90Us);
        w.WriteNumber("rows", rows);
        w.WriteNumber("bytes", bytes);
        w.WriteNumber("remote_bytes", remote);
        w.WriteNumber("gbps_all_ranks", gbps);
        w.WriteNumber("gbps_per_rank", gbps / ranks);
        w.WriteString("formula", formula);
        NumberOrNull(w, "percent_of_ceiling", percentOfCeiling);
    }

    private static void WriteValidation(Utf8JsonWriter w, string name, ValidationSummary v)
    {
        w.WriteStartObject(name);
        w.WriteString("result", !v.Ran ? "skipped" : v.Passed ? "passed" : "failed");
        w.WriteNumber("tokens", v.Tokens);
        w.WriteNumber("rows", v.Rows);
        if (v.Mismatch is not null) w.WriteString("first_mismatch", v.Mismatch);
        w.WriteEndObject();
    }
}
