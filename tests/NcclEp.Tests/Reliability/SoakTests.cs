using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NcclEp.Tests.Reliability;

/// <summary>
/// Randomized soak on the Host backend: 120,000 round trips in all (hidden 512, W = 2..4, up to 8 tokens per
/// rank, one world with a masked rank), reusing one world (groups, handles, buffers) per configuration with fresh
/// random routing on every round trip, the experts of <see cref="AffineExperts"/> between dispatch and combine. Every
/// round trip is checked: the combine output bit for bit against <see cref="ReferenceModel"/> (this rank's tokens,
/// under the mask), every count is consistent, a masked rank's count is zero, and at each checkpoint (every 64th round
/// trip) the rows each rank sent to each peer equal what that peer counted from it. The checkpoint round trip itself
/// is a full forward and backward round trip compared bit for bit with <see cref="ReferenceModel"/>, every output.
/// </summary>
[Collection(SerialCollection.Name)]
public class SoakTests(RankThreadPool pool, ITestOutputHelper output) : IClassFixture<RankThreadPool>
{
    /// <summary>Round trips per configuration: 4 × 30,000 = 120,000.</summary>
    public const int RoundTripsPerConfig = 30_000;

    /// <summary>Every this many round trips: counters compared across ranks and a full reference check.</summary>
    public const int CheckpointEvery = 64;

    private const int Hidden = 512, MaxTokens = 8;

    public enum SoakKind { LowLatencyExpertMajorW2, HighThroughputExpertMajorW3, LowLatencyRankMajorW4, HighThroughputFlatW4Masked }

    private static (EpConfig Config, int World, int Masked) Setup(SoakKind kind) => kind switch
    {
        SoakKind.LowLatencyExpertMajorW2 =>
            (new EpConfig(EpMode.LowLatency, 8, Hidden, 3, MaxTokens, EpLayout.ExpertMajor), 2, -1),
        SoakKind.HighThroughputExpertMajorW3 =>
            (new EpConfig(EpMode.HighThroughput, 9, Hidden, 4, MaxTokens, EpLayout.ExpertMajor, ExpertAlignment: 4), 3, -1),
        SoakKind.LowLatencyRankMajorW4 =>
            (new EpConfig(EpMode.LowLatency, 16, Hidden, 4, MaxTokens, EpLayout.RankMajor, EpDataType.Float32), 4, -1),
        _ =>
            (new EpConfig(EpMode.HighThroughput, 8, Hidden, 2, MaxTokens, EpLayout.Flat), 4, 3),
    };

    [Theory]
    [InlineData(SoakKind.LowLatencyExpertMajorW2)]
    [InlineData(SoakKind.HighThroughputExpertMajorW3)]
    [InlineData(SoakKind.LowLatencyRankMajorW4)]
    [InlineData(SoakKind.HighThroughputFlatW4Masked)]
    public void Random_round_trips_stay_correct(SoakKind kind)
    {
        (EpConfig config, int world, int masked) = Setup(kind);
        bool[] active = Enumerable.Range(0, world).Select(r => r != masked).ToArray();
        int live = active.Count(a => a);
        using var fw = new FaultWorld(config, world, TimeSpan.FromSeconds(10));
        if (masked >= 0)
        {
            fw.SetModelMask(active);
            for (int r = 0; r < world; r++)
            {
                if (active[r]) fw.Group(r).SetActiveRanks(active);
            }
        }

        // Counters across ranks: [source, destination] rows sent and [receiver, source] rows counted; slots likewise.
        var sentRows = new long[world, world];
        var countedRows = new long[world, world];
        var sentSlots = new long[world, world];
        var countedSlots = new long[world];
        var checkedTrips = new long[world];
        var rankers = Enumerable.Range(0, world).Select(r => new SoakRank(fw, r, active, CaseGenerator.Seed(81, (int)kind, r))).ToArray();
        using var barrier = new Barrier(live);
        var clock = Stopwatch.StartNew();
        try
        {
            pool.For(world).Run(rank =>
            {
                if (!active[rank]) return;
                SoakRank me = rankers[rank];
                FaultInjectionTests.Survivor(barrier, () =>
                {
                    for (int trip = 0; trip < RoundTripsPerConfig; trip++)
                    {
                        if (trip % CheckpointEvery != CheckpointEvery - 1)
                        {
                            me.RoundTrip(trip, sentRows, countedRows, sentSlots, countedSlots);
                            checkedTrips[rank]++;
                            continue;
                        }

                        // Checkpoint: every rank has finished the same round trips; compare what was sent and counted.
                        FaultWorld.Sync(barrier);
                        for (int s = 0; s < world; s++)
                        {
                            if (!active[s]) continue;
                            if (Volatile.Read(ref sentRows[s, rank]) != Volatile.Read(ref countedRows[rank, s]))
                                throw new XunitException($"trip {trip}: rank {s} sent {sentRows[s, rank]} rows to rank {rank} in all, which counted {countedRows[rank, s]}");
                        }
                        long slotsToMe = 0;
                        for (int s = 0; s < world; s++) slotsToMe += Volatile.Read(ref sentSlots[s, rank]);
                        if (slotsToMe != Volatile.Read(ref countedSlots[rank]))
                            throw new XunitException($"trip {trip}: ranks sent {slotsToMe} (token, expert) pairs to rank {rank}'s experts in all; it counted {countedSlots[rank]}");
                        if (masked >= 0 && countedRows[rank, masked] != 0)
                            throw new XunitException($"trip {trip}: rank {rank} counted rows from masked rank {masked}");

                        // The checkpoint round trip: forward and backward, bit for bit against the reference.
                        fw.RoundTrip(rank, CaseGenerator.Seed(82, (int)kind, trip), barrier);
                        checkedTrips[rank]++;
                    }
                });
            }, TimeSpan.FromMinutes(4));
        }
        finally
        {
            foreach (SoakRank r in rankers) r.Dispose();
        }

        int perRank = (int)checkedTrips.Where((_, r) => active[r]).Min();
        Assert.Equal(RoundTripsPerConfig, perRank);
        Assert.True(countedSlots.Sum() > RoundTripsPerConfig, "the soak moved almost nothing");
        output.WriteLine($"{kind}: {RoundTripsPerConfig} round trips on {live} live ranks in {clock.Elapsed.TotalSeconds:0.0} s " +
            $"({clock.Elapsed.TotalMicroseconds / RoundTripsPerConfig:0} µs each); {countedSlots.Sum()} (token, expert) pairs delivered");
    }

    /// <summary>One rank's fast path: random routing, Update → Dispatch → experts → Combine, counts and the combine output checked.</summary>
    private sealed unsafe class SoakRank : IDisposable
    {
        private const int PoolRows = 64;
        private readonly FaultWorld _fw;
        private readonly int _rank, _world, _local;
        private readonly bool[] _active;
        private readonly Random _rng;
        private readonly EpConfig _c;
        private readonly EpBuffer _xPool;
        private readonly byte[] _xBits;
        private readonly int[] _ids;
        private readonly float[] _weights;
        private readonly EpBuffer _idsBuffer, _weightsBuffer, _received, _expertOut, _combined;
        private readonly ElementArray _out;
        private readonly bool[] _hit;

        public SoakRank(FaultWorld fw, int rank, bool[] active, int seed)
        {
            _fw = fw;
            _rank = rank;
            _active = active;
            _c = fw.Config;
            _world = fw.World;
            _local = _c.NumExperts / _world;
            _rng = new Random(seed);
            EpGroup g = fw.Group(rank);
            _xBits = new byte[(long)(PoolRows + MaxTokens) * _c.RowBytes];
            BatchGenerator.FillRows(_rng, _xBits, _c.DataType);
            _xPool = g.AllocateBuffer(_xBits.Length);
            _xPool.Upload<byte>(_xBits);
            _ids = new int[MaxTokens * _c.TopK];
            _weights = new float[MaxTokens * _c.TopK];
            _idsBuffer = g.AllocateBuffer(_ids.Length * 4);
            _weightsBuffer = g.AllocateBuffer(_weights.Length * 4);
            _received = g.AllocateBuffer(_c.ReceiveRows(_world) * _c.RowBytes);
            _expertOut = g.AllocateBuffer(_c.ReceiveRows(_world) * _c.RowBytes);
            _combined = g.AllocateBuffer((long)MaxTokens * _c.RowBytes);
            _out = new ElementArray((long)MaxTokens * _c.Hidden, _c.DataType);
            _hit = new bool[_world];
        }

        public void RoundTrip(int trip, long[,] sentRows, long[,] countedRows, long[,] sentSlots, long[] countedSlots)
        {
            EpGroup g = _fw.Group(_rank);
            EpHandle h = _fw.Handle(_rank);
            int k = _c.TopK, e = _c.NumExperts;
            int tokens = _rng.Next(MaxTokens + 1);
            int first = _rng.Next(PoolRows);
            for (int t = 0; t < tokens; t++)
            {
                for (int slot = 0; slot < k; slot++)
                {
                    int id;
                    bool repeated;
                    do
                    {
                        id = _rng.Next(e);
                        repeated = false;
                        for (int j = 0; j < slot; j++) repeated |= _ids[(t * k) + j] == id;
                    }
                    while (repeated);
                    _ids[(t * k) + slot] = _rng.Next(6) == 0 ? -1 : id;
                    _weights[(t * k) + slot] = (float)((_rng.NextDouble() * 2) - 0.5);
                }
            }
            _idsBuffer.Upload<int>(_ids.AsSpan(0, tokens * k));
            _weightsBuffer.Upload<float>(_weights.AsSpan(0, tokens * k));

            EpTensor x = EpTensor.Create2D(_xPool.Pointer + (nint)((long)first * _c.RowBytes), _c.DataType, tokens, _c.Hidden);
            EpTensor received = Layout(_received), expertOut = Layout(_expertOut);
            h.Update(_idsBuffer.As2D(EpDataType.Int32, tokens, k), _weightsBuffer.As2D(EpDataType.Float32, tokens, k));
            g.Dispatch(h, x, received);
            HostAffineExperts.Apply(h, received, expertOut, EpPass.Forward);
            g.Combine(h, expertOut, _combined.As2D(_c.DataType, tokens, _c.Hidden));

            CheckCounts(trip, tokens, sentRows, countedRows, sentSlots, countedSlots);
            CheckCombined(trip, tokens, first);
        }

        private EpTensor Layout(EpBuffer b) => (_c.Mode, _c.Layout) switch
        {
            (EpMode.LowLatency, EpLayout.ExpertMajor) => b.As3D(_c.DataType, _local, (long)_world * MaxTokens, _c.Hidden),
            (_, EpLayout.RankMajor) => b.As3D(_c.DataType, _world, MaxTokens, _c.Hidden),
            _ => b.As2D(_c.DataType, _c.ReceiveRows(_world), _c.Hidden),
        };

        private void CheckCounts(int trip, int tokens, long[,] sentRows, long[,] countedRows, long[,] sentSlots, long[] countedSlots)
        {
            EpHandle h = _fw.Handle(_rank);
            int k = _c.TopK;
            for (int t = 0; t < tokens; t++)
            {
                Array.Clear(_hit);
                for (int slot = 0; slot < k; slot++)
                {
                    int id = _ids[(t * k) + slot];
                    if (id < 0 || !_active[id / _local]) continue;
                    _hit[id / _local] = true;
                    sentSlots[_rank, id / _local]++;
                }
                for (int r = 0; r < _world; r++)
                {
                    if (_hit[r]) sentRows[_rank, r]++;
                }
            }

            int* rankCounts = (int*)h.ReceivedRankCounts.Data;
            int* expertCounts = (int*)h.ReceivedExpertCounts.Data;
            int* offsets = (int*)h.ReceivedExpertOffsets.Data;
            int total = *(int*)h.ReceivedTotal.Data;
            long rows = 0, slots = 0;
            for (int s = 0; s < _world; s++)
            {
                int count = rankCounts[s];
                if (count < 0 || count > MaxTokens || (!_active[s] && count != 0))
                    Fail(trip, $"ReceivedRankCounts[{s}] = {count}");
                countedRows[_rank, s] += count;
                rows += count;
            }
            for (int l = 0; l < _local; l++)
            {
                if (expertCounts[l] < 0 || expertCounts[l] > _world * MaxTokens) Fail(trip, $"ReceivedExpertCounts[{l}] = {expertCounts[l]}");
                slots += expertCounts[l];
            }
            countedSlots[_rank] += slots;
            long expectedTotal = _c.Layout != EpLayout.ExpertMajor ? rows
                : _c.Mode == EpMode.HighThroughput ? offsets[_local] : slots;
            if (total != expectedTotal) Fail(trip, $"ReceivedTotal = {total}, expected {expectedTotal} (rows {rows}, expert rows {slots})");
        }

        /// <summary>The combine output equals the reference's for this rank's batch under the mask, bit for bit.</summary>
        private void CheckCombined(int trip, int tokens, int first)
        {
            int k = _c.TopK, rowBytes = _c.RowBytes;
            var batch = new RankBatch(tokens, k, _c.Hidden, _c.DataType, gradient: false);
            _ids.AsSpan(0, tokens * k).CopyTo(batch.Ids);
            _weights.AsSpan(0, tokens * k).CopyTo(batch.Weights);
            _xBits.AsSpan(first * rowBytes, tokens * rowBytes).CopyTo(batch.X);
            var batches = new RankBatch[_world];
            for (int r = 0; r < _world; r++) batches[r] = r == _rank ? batch : new RankBatch(0, k, _c.Hidden, _c.DataType);
            uint[] want = new ReferenceModel(_c, _world, batches, _active).Combined(_rank);
            _out.DownloadFrom(_combined);
            for (long i = 0; i < want.Length; i++)
            {
                if (_out[i] != want[i])
                    Fail(trip, $"combine token {i / _c.Hidden} element {i % _c.Hidden}: expected 0x{want[i]:X}, got 0x{_out[i]:X}");
            }
        }

        private void Fail(int trip, string what) =>
            throw new XunitException($"{_c} W={_world} rank {_rank} round trip {trip}: {what}");

        public void Dispose()
        {
            foreach (EpBuffer b in new[] { _xPool, _idsBuffer, _weightsBuffer, _received, _expertOut, _combined }) b.Dispose();
        }
    }
}
