using System;
using System.Collections.Generic;
using System.Globalization;
using NcclEp.Cuda;
using NcclEp.Interop;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>The soak suite's memory check: GPU memory in use before and after many create/dispose cycles.</summary>
internal static partial class SoakSuite
{
    private static string? Memory(int cycles)
    {
        GpuCase c = Case;
        EpConfig config = c.Config(c.Tokens);
        using var device = new CudaDevice(0);  // keeps the primary context alive between cycles, so the numbers mean something
        RankBatch[] inputs = FaultSuite.Inputs(c, 11, 0);

        void Cycle()
        {
            using var w = new GuardedWorld(EpGroup.CreateCuda(config, new int[World]));
            for (int r = 0; r < World; r++) w.Ranks[r].Load(inputs[r]);
            RankThreads.RunOnce(World, rank =>
            {
                GuardedRank me = w.Ranks[rank];
                me.Update();
                me.Dispatch();
                me.Combine();
                me.Sync();
            });
        }

        long Used()
        {
            using CudaContextScope scope = device.MakeCurrent();
            Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
            Check.Cu(CudaDriver.cuMemGetInfo_v2(out nuint free, out nuint total), "cuMemGetInfo_v2");
            return (long)(total - free);
        }

        long Settled()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return Used();
        }

        static string MiB(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture);

        Cycle();  // the first cycle loads what stays loaded (driver state, pools)
        long before = Settled();
        var trajectory = new List<string>();
        for (int i = 1; i <= cycles; i++)
        {
            Cycle();
            if (i % Math.Max(1, cycles / 4) == 0 && i < cycles) trajectory.Add($"{i}: {MiB(Settled())}");
        }
        long after = Settled();
        double growth = (after - before) / (1024.0 * 1024.0);
        Console.WriteLine($"     GPU memory in use: {MiB(before)} MiB before, {MiB(after)} MiB after {cycles} cycles ({growth:+0.0;-0.0;0.0} MiB); " +
            $"after cycle {string.Join(", ", trajectory)} MiB");
        return growth > MaxGrowthMiB ? $"GPU memory in use grew by {growth:0.0} MiB over {cycles} create/dispose cycles (limit {MaxGrowthMiB} MiB)" : null;
    }
}
