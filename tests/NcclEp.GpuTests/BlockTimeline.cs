using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.GpuTests;

/// <summary>
/// The block timeline of kernels built with NCCLEP_BLOCK_TIMELINE (ep_common.cuh, read by the library's
/// <see cref="KernelBlockTimeline"/>): cleared before each case, read after a case that threw, and summarised in its
/// FAIL line: for each rank and kernel, how many blocks of each role started, when they started and ended (ms after the
/// case's first block started), and which blocks started late. With the normal kernels the module has no such global
/// and this does nothing.
/// </summary>
internal static class BlockTimeline
{
    private static readonly string[] Roles = ["both", "send", "receive"];
    private const double LateMs = 1.0;  // a block that started this long after its kernel's first block is listed

    public static string Last { get; private set; } = "";

    /// <summary>Zeroes the records of every rank of the group (synchronised), before the case's first launch.</summary>
    public static void Reset(EpGroup[] groups)
    {
        Last = "";
        foreach (EpGroup g in Timed(groups)) KernelBlockTimeline.Clear(g);
    }

    /// <summary>After a failed case: waits for the GPUs (every wait in the kernels is bounded), then reads and summarises.</summary>
    public static void Capture(EpGroup[] groups)
    {
        var records = new BlockRecord[groups.Length][];
        var failed = new HashSet<CudaDevice>();
        bool any = false;
        foreach (EpGroup g in Timed(groups))
        {
            if (g.Rank >= KernelBlockTimeline.Ranks) continue;  // no room for its records
            CudaDevice device = ((CudaRankBackend)g.RankBackend).Device;
            using (CudaContextScope scope = device.MakeCurrent())
            {
                if (failed.Contains(device) || CudaDriver.cuCtxSynchronize() != CuResult.Success)
                {
                    failed.Add(device);  // a failed context: nothing to read
                    continue;
                }
            }
            if (!KernelBlockTimeline.TryRead(g, out BlockRecord[] rank, out _)) continue;
            records[g.Rank] = rank;
            any = true;
        }
        if (any) Last = Summarise(records);  // the Host oracle's groups (no GPU) leave the Cuda run's summary alone
    }

    /// <summary>The Cuda groups whose kernels define the timeline.</summary>
    private static IEnumerable<EpGroup> Timed(EpGroup[] groups) =>
        groups.Where(g => g.Backend == EpBackendKind.Cuda && KernelBlockTimeline.IsBuiltIn(g));

    private static string Summarise(BlockRecord[]?[] records)
    {
        ulong first = ulong.MaxValue;
        foreach (BlockRecord[]? rank in records)
            foreach (BlockRecord b in rank ?? []) first = Math.Min(first, b.StartNs);
        if (first == ulong.MaxValue) return "block timeline: no block started";
        double Ms(ulong t) => t == 0 ? double.NaN : (t - first) / 1e6;

        var text = new StringBuilder("block timeline (ms after the first block started; role: blocks, start first..last, end first..last):");
        for (int r = 0; r < records.Length; r++)
        {
            if (records[r] is not BlockRecord[] all) continue;
            text.Append(CultureInfo.InvariantCulture, $" rank {r}:");
            for (int slot = 0; slot < KernelBlockTimeline.Slots; slot++)
            {
                var blocks = all.Where(b => b.Slot == slot)
                    .Select(b => (b.Block, Start: Ms(b.StartNs), End: Ms(b.EndNs), b.Role, b.Seq))
                    .ToList();
                if (blocks.Count == 0) continue;
                text.Append(CultureInfo.InvariantCulture, $" {KernelBlockTimeline.SlotNames[slot]}{(slot >= 2 ? $" (seq {blocks.Max(b => b.Seq)})" : "")}");
                double kernelStart = blocks.Min(b => b.Start);
                foreach (var role in blocks.GroupBy(b => b.Role).OrderBy(g => g.Key))
                {
                    int unfinished = role.Count(b => double.IsNaN(b.End));
                    var ends = role.Where(b => !double.IsNaN(b.End)).Select(b => b.End).DefaultIfEmpty(double.NaN);
                    text.Append(CultureInfo.InvariantCulture,
                        $" {Roles[Math.Min(role.Key, 2)]}: {role.Count()}, {role.Min(b => b.Start):0.000}..{role.Max(b => b.Start):0.000}, {ends.Min():0.000}..{ends.Max():0.000}");
                    if (unfinished > 0) text.Append(CultureInfo.InvariantCulture, $", {unfinished} not ended");
                    var late = role.Where(b => b.Start - kernelStart > LateMs).Select(b => $"{b.Block}@{b.Start:0.0}").ToList();
                    if (late.Count > 0) text.Append(CultureInfo.InvariantCulture, $", late: {string.Join(' ', late.Take(8))}{(late.Count > 8 ? " …" : "")}");
                    text.Append(';');
                }
            }
        }
        return text.ToString();
    }
}
