using System;
using System.Diagnostics;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// A masked rank's late call on the Cuda backend (issue 20, item 4; docs/failure-handling.md, "Masked ranks write
/// nothing late"): the timeline of the CPU test <c>MaskedRankLateWriteTests</c>, W = 3 LL expert-major, PeerTimeout 1 s. Ranks 0 and 1
/// route slot 0 to rank 2's expert; rank 2 stalls after its dispatch; the survivors time out in Combine (peer 2), mask
/// it, and run round 2 with slot 0 on live ranks: rank 1 combines at 1.9 s, rank 2's late round-1 Combine is launched
/// at 2.3 s, rank 0 combines at 2.7 s. The survivors' round-2 combined rows must equal the Host oracle's (rank 2's late
/// rows would land in rank 0's slot-0 rows), and rank 2 must raise <see cref="EpRankMaskedException"/> at its next
/// Synchronize and at every call after it. Rank 2 keeps its buffers until the survivors are done: freeing device memory
/// waits for the whole device, the survivors' kernels included.
/// </summary>
internal static class ProtocolMaskedRank
{
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 6, Hidden: 512, TopK: 3, MaxTokensPerRank: 2, EpLayout.ExpertMajor);
    private static readonly bool[] WithoutRank2 = [true, true, false];

    public const string Name = "W=3 LL ExpertMajor: a masked rank's late combine raises EpRankMaskedException and writes nothing into the survivors' next round";

    public static string? Run(bool hostOnly)
    {
        RankBatch[] round1 = [Inputs([4, 0, -1], 1), Inputs([4, 2, -1], 2), Inputs([0, 2, -1], 3)];
        RankBatch[] round2 = [Inputs([2, 0, -1], 4), Inputs([0, 3, -1], 5), Inputs([0, 2, -1], 6)];

        var expected = new byte[2][];
        EpGroup[] host = EpGroup.CreateHost(Config, 3);
        try
        {
            host[0].SetActiveRanks(WithoutRank2);
            host[1].SetActiveRanks(WithoutRank2);
            RankThreads.RunOnce(2, rank =>
            {
                using var me = new LateRank(host[rank], round2[rank]);
                me.UpdateAndDispatch();
                me.Combine();
                expected[rank] = me.Combined();
            }, TimeSpan.FromMinutes(3));
        }
        finally
        {
            foreach (EpGroup g in host) g.Dispose();
        }

        var options = new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(1) };
        EpGroup[] groups = hostOnly ? EpGroup.CreateHost(Config, 3, options) : EpGroup.CreateCuda(Config, Devices(), options);
        var actual = new byte[2][];
        var timeouts = new EpTimeoutException?[2];
        Exception? late = null, later = null;
        // Host-side times (s since the start) of each rank's round-1 calls, for the failure message: dispatch called,
        // combine called, combine's launches returned, synchronised. A launch call that returns late is a host-side wait;
        // a launch on time with a peer's time-out is the GPU's.
        var marks = new double[3, 4];
        try
        {
            using var all = new Barrier(3);
            using var survivors = new Barrier(2);
            using var survivorsDone = new CountdownEvent(2);
            var clock = new Stopwatch();
            RankThreads.RunOnce(3, rank =>
            {
                using var me = new LateRank(groups[rank], round1[rank]);
                Meet(all);
                if (rank == 0) clock.Start();
                Meet(all);
                marks[rank, 0] = clock.Elapsed.TotalSeconds;
                me.UpdateAndDispatch();
                if (rank == 2)
                {
                    me.Sync();
                    marks[2, 1] = clock.Elapsed.TotalSeconds;
                    SleepUntil(clock, 2.3);
                    late = Record(() => { me.Combine(); me.Sync(); });
                    later = Record(me.UpdateAndDispatch);
                    // Rank 2's buffers and experts module are freed when it returns, and a free waits for the whole
                    // device, including the survivors' round-2 kernels (waiting for each other): keep them until then.
                    survivorsDone.Wait(TimeSpan.FromSeconds(30));
                    return;
                }
                try
                {
                    try
                    {
                        marks[rank, 1] = clock.Elapsed.TotalSeconds;
                        me.Combine();
                        marks[rank, 2] = clock.Elapsed.TotalSeconds;
                        me.Sync();
                    }
                    catch (EpTimeoutException e)
                    {
                        timeouts[rank] = e;
                    }
                    marks[rank, 3] = clock.Elapsed.TotalSeconds;
                    Meet(survivors);
                    groups[rank].SetActiveRanks(WithoutRank2);
                    Meet(survivors);
                    me.Load(round2[rank]);
                    me.UpdateAndDispatch();
                    SleepUntil(clock, rank == 1 ? 1.9 : 2.7);
                    me.Combine();
                    me.Sync();
                    actual[rank] = me.Combined();
                }
                finally
                {
                    survivorsDone.Signal();
                }
            }, TimeSpan.FromMinutes(3));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }

        for (int r = 0; r < 2; r++)
        {
            if (timeouts[r] is not { Peer: 2, Phase: EpPhase.CombineReceive, Sequence: 1 })
                return $"rank {r}: round 1 should time out waiting for peer 2 in CombineReceive, operation 1; got {timeouts[r]?.Message ?? "no time-out"} " +
                    $"(round 1, s since the start: rank 0 dispatch {marks[0, 0]:F3}, combine {marks[0, 1]:F3}, launched {marks[0, 2]:F3}, done {marks[0, 3]:F3}; " +
                    $"rank 1 dispatch {marks[1, 0]:F3}, combine {marks[1, 1]:F3}, launched {marks[1, 2]:F3}, done {marks[1, 3]:F3}; " +
                    $"rank 2 dispatch {marks[2, 0]:F3}, synchronized {marks[2, 1]:F3}; rank 0's time-out: {timeouts[0]?.Message ?? "none"})";
            int at = expected[r].AsSpan().CommonPrefixLength(actual[r]);
            if (at < expected[r].Length || actual[r].Length != expected[r].Length)
                return $"rank {r}: round-2 combined rows differ from the Host oracle's at byte {at} (rank 2's late rows landed?)";
        }
        if (late is not EpRankMaskedException { Rank: 2 })
            return $"rank 2's late combine should raise EpRankMaskedException; got {(late is null ? "nothing" : late.GetType().Name + ": " + late.Message)}";
        if (later is not EpRankMaskedException)
            return $"rank 2's next call should raise EpRankMaskedException again; got {(later is null ? "nothing" : later.GetType().Name)}";
        return null;
    }

    /// <summary>Two tokens with the experts <paramref name="ids"/>, weights 1 and 0.75 (random rows).</summary>
    private static RankBatch Inputs(int[] ids, int seed)
    {
        var input = GpuCase.Batch(Config, 2, seed);
        for (int t = 0; t < 2; t++)
        {
            ids.CopyTo(input.Ids, t * Config.TopK);
            for (int k = 0; k < Config.TopK; k++) input.Weights[(t * Config.TopK) + k] = k == 0 ? 1f : 0.75f;
        }
        return input;
    }

    private static int[] Devices() => Program.DeviceCount() >= 3 ? [0, 1, 2] : new int[3];

    private static Exception? Record(Action call)
    {
        try
        {
            call();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static void SleepUntil(Stopwatch clock, double seconds)
    {
        TimeSpan left = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
        if (left > TimeSpan.Zero) Thread.Sleep(left);
    }

    private static void Meet(Barrier barrier)
    {
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(30))) throw new TimeoutException("rank barrier timed out");
    }

    /// <summary>One rank: its stream, handle and buffers; the test experts (distinct per expert) between dispatch and combine.</summary>
    private sealed class LateRank : IDisposable
    {
        private readonly EpGroup _g;
        private readonly EpHandle _handle;
        private readonly EpBuffer _ids, _weights, _x, _received, _expertOut, _combined;
        private readonly GpuAffineExperts? _experts;
        private readonly nint _stream;
        private int _tokens;

        public LateRank(EpGroup g, RankBatch input)
        {
            _g = g;
            long rowBytes = Config.RowBytes, rows = Config.ReceiveRows(3);
            _handle = g.CreateHandle();
            _ids = g.AllocateBuffer(2L * Config.TopK * 4);
            _weights = g.AllocateBuffer(2L * Config.TopK * 4);
            _x = g.AllocateBuffer(2 * rowBytes);
            _received = g.AllocateBuffer(rows * rowBytes);
            _expertOut = g.AllocateBuffer(rows * rowBytes);
            _experts = g.Backend == EpBackendKind.Cuda ? new GpuAffineExperts(g) : null;
            _combined = g.AllocateBuffer(2 * rowBytes);
            _stream = g.CreateStream().Handle;  // owned by the group (Host: the default stream)
            Load(input);
        }

        public void Load(RankBatch input)
        {
            _tokens = input.Tokens;
            _ids.Upload<int>(input.Ids);
            _weights.Upload<float>(input.Weights);
            _x.Upload<byte>(input.X);
            _received.Fill(0xEE);
            _expertOut.Fill(0xEE);
            _combined.Fill(0xEE);
        }

        public void UpdateAndDispatch()
        {
            _handle.Update(EpTensor.Create2D(_ids.Pointer, EpDataType.Int32, _tokens, Config.TopK),
                EpTensor.Create2D(_weights.Pointer, EpDataType.Float32, _tokens, Config.TopK), new EpStream(_stream));
            _g.Dispatch(_handle, Home(_x), Layout(_received), new EpStream(_stream));
        }

        /// <summary>The experts on the rows the last dispatch delivered (a kernel on Cuda, on this thread on Host), then Combine.</summary>
        public void Combine()
        {
            new ExpertsWork(_handle, Layout(_received), Layout(_expertOut), EpPass.Forward, _experts).Execute(new EpStream(_stream));
            _g.Combine(_handle, Layout(_expertOut), Home(_combined), new EpStream(_stream));
        }

        public void Sync() => _g.Synchronize(new EpStream(_stream));

        public byte[] Combined()
        {
            var bytes = new byte[_tokens * Config.RowBytes];
            _combined.Download<byte>(bytes);
            return bytes;
        }

        private EpTensor Home(EpBuffer b) => EpTensor.Create2D(b.Pointer, Config.DataType, _tokens, Config.Hidden);

        private static EpTensor Layout(EpBuffer b) => EpTensor.Create3D(b.Pointer, Config.DataType, Config.LocalExperts(3), 3L * Config.MaxTokensPerRank, Config.Hidden);

        public void Dispose()
        {
            foreach (EpBuffer b in new[] { _ids, _weights, _x, _received, _expertOut, _combined }) b.Dispose();
            _experts?.Dispose();
            _handle.Dispose();
            }
    }
}
