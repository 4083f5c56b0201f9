using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Interop;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// <c>--suite soak [--round-trips N] [--check-every K] [--oracle-every N] [--cycles C] [--budget-seconds S]</c>
/// (N or C = 0 skips that part):
/// <list type="bullet">
/// <item><description>N (default 1,000,000) random round trips (Update → Dispatch → experts (the test experts' kernel,
/// distinct per expert) → Combine) on two co-located ranks of GPU 0, LL ExpertMajor bf16, hidden 512, top-4 of 8
/// experts, 0..8 tokens. Each rank draws every round trip from a pool of 256 random batches (ids with some -1,
/// weights, rows) held on the GPU, so nothing is uploaded in the loop. Checked: <b>every</b> round trip on the GPU, by
/// a small kernel queued after the combine that compares the combined rows bit for bit with the Host oracle's result
/// for that batch and the received counts with the counts the two ranks' batches imply (mismatching round trips are
/// counted, and how many were compared is printed); every K-th (default 64) round trip on the host, downloading the
/// combined rows and comparing them bit for bit with the reference model; every N-th (default 10,000) the whole result
/// (counts, every received row, source info, (expert, source) offsets, combined) against the Host backend run on the
/// same two batches.</description></item>
/// <item><description>GPU memory in use (cuMemGetInfo_v2) before and after C (default 100) cycles of creating a group,
/// a handle and buffers, one round trip, and disposing everything: it must not grow by more than 4 MiB.</description></item>
/// </list>
/// Ends with "N passed, N failed, N skipped".
/// </summary>
internal static unsafe partial class SoakSuite
{
    private const int Pool = 256, World = 2;

    /// <summary>Most the GPU memory in use may grow over the create/dispose cycles.</summary>
    private const double MaxGrowthMiB = 4;
    private static readonly GpuCase Case = new(EpMode.LowLatency, EpLayout.ExpertMajor, World, 512, 4, 8, 8, EpDataType.BFloat16);

    private const string CheckSource = """
        // Compares one round trip's combined rows (as 32-bit words) and received counts with the expected ones;
        // result = {mismatching round trips, first mismatching trip + 1, round trips checked}.
        extern "C" __global__ void soak_check(const unsigned int* got, const unsigned int* want, int words,
                                              const int* rankCounts, const int* expertCounts, const int* wantCounts,
                                              int world, int local, unsigned int trip, unsigned int* result)
        {
            __shared__ int bad;
            if (threadIdx.x == 0) bad = 0;
            __syncthreads();
            int mine = 0;
            for (int i = threadIdx.x; i < words; i += blockDim.x) mine |= got[i] != want[i];
            for (int i = threadIdx.x; i < world; i += blockDim.x) mine |= rankCounts[i] != wantCounts[i];
            for (int i = threadIdx.x; i < local; i += blockDim.x) mine |= expertCounts[i] != wantCounts[world + i];
            if (mine) atomicOr(&bad, 1);
            __syncthreads();
            if (threadIdx.x == 0) {
                atomicAdd(&result[2], 1u);
                if (bad && atomicAdd(&result[0], 1u) == 0u) result[1] = trip + 1u;
            }
        }
        """;

    public static int Run(string[] args)
    {
        long trips = long.Parse(Program.Arg(args, "--round-trips") ?? "1000000", CultureInfo.InvariantCulture);
        int checkEvery = int.Parse(Program.Arg(args, "--check-every") ?? "64", CultureInfo.InvariantCulture);
        int oracleEvery = int.Parse(Program.Arg(args, "--oracle-every") ?? "10000", CultureInfo.InvariantCulture);
        int cycles = int.Parse(Program.Arg(args, "--cycles") ?? "100", CultureInfo.InvariantCulture);
        double budget = double.Parse(Program.Arg(args, "--budget-seconds") ?? "270", CultureInfo.InvariantCulture);
        string? skip = EpGroup.IsCudaAvailable(out string reason) ? null : $"no usable GPU ({reason})";
        return SuiteCases.Run(
        [
            ($"soak: {trips:N0} round trips, W=2 co-located", trips > 0, () => Soak(trips, checkEvery, oracleEvery, budget)),
            ($"memory: {cycles} create/dispose cycles of a W=2 group", cycles > 0, () => Memory(cycles)),
        ], skip);
    }

    // ---- the soak -------------------------------------------------------------------------------------------

    /// <summary>Which pool batch rank <paramref name="rank"/> uses in round trip <paramref name="trip"/> (both ranks compute both).</summary>
    private static int Choice(int rank, long trip)
    {
        ulong z = unchecked(((ulong)trip * 0x9E3779B97F4A7C15UL) + ((ulong)(rank + 1) * 0xBF58476D1CE4E5B9UL));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) % Pool);
    }

    private static string? Soak(long trips, int checkEvery, int oracleEvery, double budget)
    {
        EpConfig config = Case.Config(Case.Tokens);
        int m = config.MaxTokensPerRank, k = config.TopK, h = config.Hidden, local = config.NumExperts / World;
        long rowBytes = config.RowBytes;

        using var oracle = new GuardedWorld(EpGroup.CreateHost(config, World));
        (RankBatch[][] pool, byte[][] wantCombined, int[][] wantCounts) = Prepare(config, oracle);
        int countWords = World + local;

        EpGroup[] groups = EpGroup.CreateCuda(config, new int[World], new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(10) });
        using var gpu = new GuardedWorld(groups);
        CudaDevice device = ((CudaRankBackend)groups[0].RankBackend).Device;
        nint function = LoadCheckKernel(device, out nint module);
        var buffers = new SoakBuffers[World];
        var experts = new GpuAffineExperts[World];
        try
        {
            for (int r = 0; r < World; r++)
            {
                buffers[r] = new SoakBuffers(groups[r], pool[r], wantCombined[r], wantCounts[r]);
                experts[r] = new GpuAffineExperts(groups[r]);
            }
            var hostChecks = new long[World];
            var oracleChecks = new long[World];
            var failures = new string?[World];
            long stopAt = trips;
            using var barrier = new Barrier(World);
            var clock = Stopwatch.StartNew();
            RankThreads.RunOnce(World, rank =>
            {
                Check.Cu(CudaDriver.cuCtxSetCurrent(device.Context), "cuCtxSetCurrent");
                EpGroup g = groups[rank];
                GuardedRank rig = gpu.Ranks[rank];
                SoakBuffers b = buffers[rank];
                EpHandle handle = rig.Handle;
                EpStream stream = rig.Stream;
                nint rankCounts = handle.ReceivedRankCounts.Data, expertCounts = handle.ReceivedExpertCounts.Data;
                var combinedHost = new byte[m * rowBytes];
                for (long trip = 0; trip < Volatile.Read(ref stopAt); trip++)
                {
                    int i0 = Choice(0, trip), i1 = Choice(1, trip), mine = rank == 0 ? i0 : i1;
                    RankBatch batch = pool[rank][mine];
                    int tokens = batch.Tokens;
                    EpTensor ids = EpTensor.Create2D(b.Ids.Pointer + (nint)((long)mine * m * k * 4), EpDataType.Int32, tokens, k);
                    EpTensor weights = EpTensor.Create2D(b.Weights.Pointer + (nint)((long)mine * m * k * 4), EpDataType.Float32, tokens, k);
                    EpTensor x = EpTensor.Create2D(b.X.Pointer + (nint)(mine * m * rowBytes), config.DataType, tokens, h);
                    EpTensor received = EpTensor.Create3D(b.Received.Pointer, config.DataType, local, (long)World * m, h);
                    EpTensor expertOut = EpTensor.Create3D(b.ExpertOut.Pointer, config.DataType, local, (long)World * m, h);
                    EpTensor combined = EpTensor.Create2D(b.Combined.Pointer, config.DataType, tokens, h);
                    handle.Update(ids, weights, stream);
                    g.Dispatch(handle, x, received, stream);
                    experts[rank].Launch(handle, received, expertOut, EpPass.Forward, stream);
                    g.Combine(handle, expertOut, combined, stream);
                    LaunchCheck(function, stream.Handle, b.Combined.Pointer, b.WantCombined.Pointer + (nint)(mine * m * rowBytes),
                        (int)(tokens * rowBytes / 4), rankCounts, expertCounts,
                        b.WantCounts.Pointer + (nint)((((long)i0 * Pool) + i1) * countWords * 4), World, local, (uint)trip, b.Result.Pointer);

                    if (trip % checkEvery == checkEvery - 1)
                    {
                        g.Synchronize(stream);
                        b.Combined.Download<byte>(combinedHost.AsSpan(0, (int)(tokens * rowBytes)));
                        failures[rank] ??= CheckAgainstReference(config, batch, combinedHost, trip, rank);
                        hostChecks[rank]++;
                    }
                    if (trip % oracleEvery == oracleEvery - 1 || trip == Volatile.Read(ref stopAt) - 1)
                    {
                        // Both ranks stop here: compare everything with the Host backend on the same two batches.
                        g.Synchronize(stream);
                        RankResult got = ResultCollector.Collect(handle, b.Received, 0, b.Combined, 0, tokens, null, null);
                        Meet(barrier);
                        RankResult want = oracle.Ranks[rank].ForwardRoundTrip(batch);
                        string? difference = ResultCompare.FirstDifference([want], [got]);
                        if (difference is not null) failures[rank] ??= $"round trip {trip} (batches {i0}, {i1}): rank {rank}: {difference}";
                        oracleChecks[rank]++;
                        if (rank == 0 && clock.Elapsed.TotalSeconds > budget) Volatile.Write(ref stopAt, Math.Min(Volatile.Read(ref stopAt), trip + 1));
                        Meet(barrier);
                    }
                }
                g.Synchronize(stream);
            });

            long done = Volatile.Read(ref stopAt);
            double seconds = clock.Elapsed.TotalSeconds;
            uint[][] results = buffers.Select(b => { var v = new uint[4]; b.Result.Download<uint>(v); return v; }).ToArray();
            Console.WriteLine($"     {done:N0} round trips in {seconds:0.0} s ({seconds * 1e6 / Math.Max(1, done):0.0} µs per round trip, both ranks); {groups[0].FabricDescription}");
            for (int r = 0; r < World; r++)
            {
                Console.WriteLine($"     rank {r}: round trips compared bit for bit on the GPU {results[r][2]:N0} of {done:N0}, mismatches {results[r][0]}" +
                    (results[r][0] > 0 ? $" (first at round trip {results[r][1] - 1})" : "") +
                    $"; on the host against the reference {hostChecks[r]:N0}; full Host-oracle comparisons {oracleChecks[r]:N0}; {failures[r] ?? "no failure"}");
            }
            for (int r = 0; r < World; r++)
            {
                if (failures[r] is not null) return failures[r];
                if (results[r][0] != 0) return $"rank {r}: {results[r][0]} round trips differ from the Host oracle on the GPU (first: {results[r][1] - 1})";
                if (results[r][2] != (uint)done) return $"rank {r}: the GPU checked {results[r][2]} round trips of {done}";
            }
            if (done < trips) return $"only {done:N0} of {trips:N0} round trips ran within the {budget:0} s budget";
            return null;
        }
        finally
        {
            foreach (SoakBuffers? b in buffers) b?.Dispose();
            foreach (GpuAffineExperts? e in experts) e?.Dispose();
            using CudaContextScope scope = device.MakeCurrent();
            _ = CudaDriver.cuModuleUnload(module);
        }
    }

    /// <summary>
    /// The pool (Pool random batches per rank), the Host oracle's combined rows of each batch (a rank's combine depends
    /// only on its own batch: its tokens, their experts and weights) and, per receiving rank, the counts of every pair of
    /// batches.
    /// </summary>
    private static (RankBatch[][] Pool, byte[][] WantCombined, int[][] WantCounts) Prepare(EpConfig config, GuardedWorld oracle)
    {
        int m = config.MaxTokensPerRank, k = config.TopK, local = config.NumExperts / World;
        long rowBytes = config.RowBytes;
        // The pool: Pool random batches per rank, and the Host oracle's combined rows of each.
        var pool = new RankBatch[World][];
        for (int r = 0; r < World; r++)
            pool[r] = Enumerable.Range(0, Pool).Select(i => Case.Batch(i % (m + 1), 100_000 + (r * Pool) + i)).ToArray();
        var wantCombined = new byte[World][];
        for (int r = 0; r < World; r++) wantCombined[r] = new byte[Pool * m * rowBytes];
        RankThreads.RunOnce(World, rank =>
        {
            for (int i = 0; i < Pool; i++)
            {
                RankResult result = oracle.Ranks[rank].FullRoundTrip(pool[rank][i]);
                result.Parts["combined"].CopyTo(wantCombined[rank], i * m * rowBytes);
            }
        });

        // Expected counts for each pair (batch of rank 0, batch of rank 1), per receiving rank: [W rank counts, L expert counts].
        int countWords = World + local;
        var wantCounts = new int[World][];
        for (int r = 0; r < World; r++) wantCounts[r] = new int[Pool * Pool * countWords];
        for (int i0 = 0; i0 < Pool; i0++)
        {
            for (int i1 = 0; i1 < Pool; i1++)
            {
                for (int s = 0; s < World; s++)
                {
                    RankBatch b = pool[s][s == 0 ? i0 : i1];
                    for (int t = 0; t < b.Tokens; t++)
                    {
                        Span<bool> hit = [false, false];
                        for (int slot = 0; slot < k; slot++)
                        {
                            int e = b.Ids[(t * k) + slot];
                            if (e < 0) continue;
                            int r = e / local;
                            hit[r] = true;
                            wantCounts[r][(((i0 * Pool) + i1) * countWords) + World + (e % local)]++;
                        }
                        for (int r = 0; r < World; r++)
                        {
                            if (hit[r]) wantCounts[r][(((i0 * Pool) + i1) * countWords) + s]++;
                        }
                    }
                }
            }
        }

        return (pool, wantCombined, wantCounts);
    }

    private static void Meet(Barrier barrier)
    {
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the other rank did not reach the checkpoint");
    }

    /// <summary>The combined rows equal the reference model's for this rank's batch, bit for bit.</summary>
    private static string? CheckAgainstReference(EpConfig config, RankBatch batch, byte[] combined, long trip, int rank)
    {
        var batches = new RankBatch[World];
        for (int r = 0; r < World; r++) batches[r] = r == rank ? batch : new RankBatch(0, config.TopK, config.Hidden, config.DataType);
        uint[] want = new ReferenceModel(config, World, batches).Combined(rank);
        for (int i = 0; i < want.Length; i++)
        {
            uint got = Numerics.ElementBits(combined, i, config.DataType);
            if (got != want[i])
                return $"round trip {trip}: rank {rank} token {i / config.Hidden} element {i % config.Hidden}: combined 0x{got:X}, the reference 0x{want[i]:X}";
        }
        return null;
    }

    private static nint LoadCheckKernel(CudaDevice device, out nint module)
    {
        byte[] cubin = NvrtcCompiler.Compile(CheckSource, "ncclep_soak_check.cu", [$"--gpu-architecture={device.Architecture}", "-std=c++17"], out _);
        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* image = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out module, image), "cuModuleLoadData");
        Check.Cu(CudaDriver.cuModuleGetFunction(out nint function, module, "soak_check"), "cuModuleGetFunction(soak_check)");
        return function;
    }

    private static void LaunchCheck(nint function, nint stream, nint got, nint want, int words, nint rankCounts, nint expertCounts,
        nint wantCounts, int world, int local, uint trip, nint result)
    {
        void** p = stackalloc void*[10];
        p[0] = &got; p[1] = &want; p[2] = &words; p[3] = &rankCounts; p[4] = &expertCounts;
        p[5] = &wantCounts; p[6] = &world; p[7] = &local; p[8] = &trip; p[9] = &result;
        Check.Cu(CudaDriver.cuLaunchKernel(function, 1, 1, 1, 256, 1, 1, 0, stream, p, null), "cuLaunchKernel(soak_check)");
    }

    /// <summary>One rank's pool on the GPU (ids, weights, rows of every batch; expected combined rows and counts) and outputs.</summary>
    private sealed class SoakBuffers : IDisposable
    {
        public SoakBuffers(EpGroup g, RankBatch[] pool, byte[] wantCombined, int[] wantCounts)
        {
            EpConfig c = g.Config;
            int m = c.MaxTokensPerRank, k = c.TopK;
            var ids = new int[Pool * m * k];
            var weights = new float[Pool * m * k];
            var rows = new byte[Pool * m * c.RowBytes];
            for (int i = 0; i < Pool; i++)
            {
                pool[i].Ids.CopyTo(ids, i * m * k);
                pool[i].Weights.CopyTo(weights, i * m * k);
                pool[i].X.CopyTo(rows, (long)i * m * c.RowBytes);
            }
            Ids = Upload<int>(g, ids);
            Weights = Upload<float>(g, weights);
            X = Upload<byte>(g, rows);
            WantCombined = Upload<byte>(g, wantCombined);
            WantCounts = Upload<int>(g, wantCounts);
            Received = g.AllocateBuffer(c.ReceiveRows(g.WorldSize) * c.RowBytes);
            ExpertOut = g.AllocateBuffer(c.ReceiveRows(g.WorldSize) * c.RowBytes);
            Combined = g.AllocateBuffer((long)m * c.RowBytes);
            Result = g.AllocateBuffer(16);
            Result.Fill(0);
        }

        public EpBuffer Ids { get; }
        public EpBuffer Weights { get; }
        public EpBuffer X { get; }
        public EpBuffer WantCombined { get; }
        public EpBuffer WantCounts { get; }
        public EpBuffer Received { get; }
        public EpBuffer ExpertOut { get; }
        public EpBuffer Combined { get; }
        public EpBuffer Result { get; }

        private static EpBuffer Upload<T>(EpGroup g, T[] values) where T : unmanaged
        {
            EpBuffer b = g.AllocateBuffer(Math.Max(16, (long)values.Length * sizeof(T)));
            b.Upload<T>(values);
            return b;
        }

        public void Dispose()
        {
            foreach (EpBuffer b in new[] { Ids, Weights, X, WantCombined, WantCounts, Received, ExpertOut, Combined, Result }) b.Dispose();
        }
    }
}
