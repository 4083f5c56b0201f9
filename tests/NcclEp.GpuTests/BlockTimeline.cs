using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.GpuTests;

/// <summary>
/// The block timeline of kernels built with NCCLEP_BLOCK_TIMELINE (ep_common.cuh): cleared before each case, read
/// after a case that threw, and summarised in its FAIL line: for each rank and kernel, how many blocks of each role
/// started, when they started and ended (ms after the case's first block started), and which blocks started late.
/// With the normal kernels the module has no such global and this does nothing.
/// </summary>
internal static unsafe class BlockTimeline
{
    private const string Symbol = "ncclep_block_timeline";
    private const int Ranks = 8, Slots = 6, Blocks = 256, Words = 3;  // as TIMELINE_RANKS, _SLOTS, _BLOCKS in ep_common.cuh
    private static readonly string[] SlotNames = ["update", "offsets", "dispatch odd", "combine odd", "dispatch even", "combine even"];
    private static readonly string[] Roles = ["both", "send", "receive"];
    private const double LateMs = 1.0;  // a block that started this long after its kernel's first block is listed

    public static string Last { get; private set; } = "";

    /// <summary>Zeroes the records on every GPU of the group (synchronised), before the case's first launch.</summary>
    public static void Reset(EpGroup[] groups)
    {
        Last = "";
        foreach ((CudaRankBackend backend, nint pointer, long bytes) in Globals(groups))
        {
            using CudaContextScope scope = backend.Device.MakeCurrent();
            nint stream = backend.Device.TransferStream;
            Check.Cu(CudaDriver.cuMemsetD8Async(pointer, 0, (nuint)bytes, stream), "cuMemsetD8Async (block timeline)");
            Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (block timeline)");
        }
    }

    /// <summary>After a failed case: waits for the GPUs (every wait in the kernels is bounded), then reads and summarises.</summary>
    public static void Capture(EpGroup[] groups)
    {
        var records = new ulong[groups.Length][];
        bool any = false;
        foreach ((CudaRankBackend backend, nint pointer, long bytes) in Globals(groups))
        {
            using CudaContextScope scope = backend.Device.MakeCurrent();
            if (CudaDriver.cuCtxSynchronize() != CuResult.Success) continue;  // a failed context: nothing to read
            var all = new ulong[bytes / 8];
            nint stream = backend.Device.TransferStream;
            fixed (ulong* p = all)
            {
                if (CudaDriver.cuMemcpyDtoHAsync_v2(p, pointer, (nuint)bytes, stream) != CuResult.Success) continue;
                if (CudaDriver.cuStreamSynchronize(stream) != CuResult.Success) continue;
            }
            for (int r = 0; r < groups.Length && r < Ranks; r++)
                if (Backend(groups[r]).Device == backend.Device) { records[r] = all; any = true; }
        }
        if (any) Last = Summarise(records);  // the Host oracle's groups (no GPU) leave the Cuda run's summary alone
    }

    /// <summary>One entry per GPU of the group whose kernels define the timeline.</summary>
    private static IEnumerable<(CudaRankBackend Backend, nint Pointer, long Bytes)> Globals(EpGroup[] groups)
    {
        var seen = new HashSet<CudaDevice>();
        foreach (EpGroup g in groups)
        {
            if (g.Backend != EpBackendKind.Cuda) continue;
            CudaRankBackend backend = Backend(g);
            if (!seen.Add(backend.Device)) continue;
            (nint pointer, long bytes) = Global(backend);
            if (pointer != 0) yield return (backend, pointer, bytes);
        }
    }

    private static CudaRankBackend Backend(EpGroup g) => (CudaRankBackend)g.RankBackend;

    /// <summary>The timeline global of the rank's kernel module (address and size), or (0, 0) when its kernels define none.</summary>
    private static (nint Pointer, long Bytes) Global(CudaRankBackend backend)
    {
        using CudaContextScope scope = backend.Device.MakeCurrent();
        Check.Cu(TestDriver.cuFuncGetModule(out nint module, backend.Kernels.Update), "cuFuncGetModule");
        CuResult status = TestDriver.cuModuleGetGlobal_v2(out nint pointer, out nuint bytes, module, Symbol);
        if (status == CuResult.ErrorNotFound) return (0, 0);
        Check.Cu(status, $"cuModuleGetGlobal_v2({Symbol})");
        return (pointer, (long)bytes);
    }

    private static string Summarise(ulong[][] records)
    {
        ulong first = ulong.MaxValue;
        for (int r = 0; r < records.Length; r++)
            if (records[r] is ulong[] all)
                for (int i = Offset(r, 0, 0); i < Offset(r + 1, 0, 0) && i < all.Length; i += Words)
                    if (all[i] != 0) first = Math.Min(first, all[i]);
        if (first == ulong.MaxValue) return "block timeline: no block started";
        double Ms(ulong t) => t == 0 ? double.NaN : (t - first) / 1e6;

        var text = new StringBuilder("block timeline (ms after the first block started; role: blocks, start first..last, end first..last):");
        for (int r = 0; r < records.Length; r++)
        {
            if (records[r] is not ulong[] all) continue;
            text.Append(CultureInfo.InvariantCulture, $" rank {r}:");
            for (int slot = 0; slot < Slots; slot++)
            {
                var blocks = Enumerable.Range(0, Blocks).Select(b => Offset(r, slot, b)).Where(i => all[i] != 0)
                    .Select(i => (Block: (i - Offset(r, slot, 0)) / Words, Start: Ms(all[i]), End: Ms(all[i + 1]), Role: (int)(all[i + 2] & 0xFF), Seq: (all[i + 2] >> 8) & 0xFFFFFF))
                    .ToList();
                if (blocks.Count == 0) continue;
                text.Append(CultureInfo.InvariantCulture, $" {SlotNames[slot]}{(slot >= 2 ? $" (seq {blocks.Max(b => b.Seq)})" : "")}");
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

    private static int Offset(int rank, int slot, int block) => ((rank * Slots + slot) * Blocks + block) * Words;
}
