using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// <c>--suite faults</c>: the Cuda backend's failure handling on co-located ranks of one GPU, against the Host oracle.
/// <list type="bullet">
/// <item><description>Bad expert ids produced on the GPU (NumExperts+5, -7, a duplicate, then many at once): the next call
/// (here Synchronize) raises <see cref="EpException"/> naming token, slot and value; the bad slot is treated as "no expert"
/// and every output equals the Host oracle run on the ids with those slots set to -1; guard bytes around every output
/// tensor are untouched (nothing written out of bounds).</description></item>
/// <item><description>W = 2, PeerTimeout 500 ms: a rank that never launches its dispatch (then one that never launches its
/// combine) → the other raises <see cref="EpTimeoutException"/> with the right peer, phase and sequence within twice the
/// time-out; it masks the dead rank and, alone, matches the Host oracle over several round trips.</description></item>
/// <item><description>W = 3: the two survivors learn of the time-out after different numbers of launches (out of step); after
/// the recovery rule (docs/failure-handling.md) they match the Host oracle.</description></item>
/// </list>
/// Ends with "N passed, N failed, N skipped".
/// </summary>
internal static class FaultSuite
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    private static readonly GpuCase ExpertMajor = new(EpMode.LowLatency, EpLayout.ExpertMajor, 2, 512, 4, 8, 8, EpDataType.BFloat16);
    private static readonly GpuCase RankMajor = new(EpMode.LowLatency, EpLayout.RankMajor, 2, 512, 4, 8, 8, EpDataType.BFloat16);
    private static readonly GpuCase Flat = new(EpMode.HighThroughput, EpLayout.Flat, 2, 512, 3, 8, 8, EpDataType.BFloat16);
    private static readonly GpuCase ExpertMajorW3 = new(EpMode.LowLatency, EpLayout.ExpertMajor, 3, 512, 4, 8, 12, EpDataType.BFloat16);

    public static int Run(string[] args)
    {
        _ = args;
        var cases = new (string Name, Func<string?> Body)[]
        {
            ("bad id NumExperts+5 (rank 0, token 1, slot 2)", () => BadIds(ExpertMajor, 1, Inject(0, 1, 2, 8 + 5))),
            ("bad id -7 (rank 1, token 0, slot 0)", () => BadIds(ExpertMajor, 2, Inject(1, 0, 0, -7))),
            ("duplicate id (rank 0, token 2, slot 3 repeats slot 1)", () => BadIds(ExpertMajor, 3, Duplicate(0, 2, 3, 1))),
            ("many bad ids on both ranks, LL ExpertMajor", () => BadIds(ExpertMajor, 4, Many)),
            ("many bad ids on both ranks, LL RankMajor", () => BadIds(RankMajor, 5, Many)),
            ("many bad ids on both ranks, HT Flat", () => BadIds(Flat, 6, Many)),
            ("W=2: rank 1 never launches Dispatch; rank 0 times out, masks it, goes on", () => DeadPeer(stopBefore: 0, seed: 7)),
            ("W=2: rank 1 never launches Combine; rank 0 times out, masks it, goes on", () => DeadPeer(stopBefore: 1, seed: 8)),
            ("W=3: survivors out of step after a time-out are in step after the recovery rule", () => OutOfStep(seed: 9)),
        };
        return SuiteCases.Run(cases, EpGroup.IsCudaAvailable(out string reason) ? null : $"no usable GPU ({reason})");
    }

    internal static string Describe(Exception e) => e switch
    {
        RankFailedException r => r.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    // ---- (a) bad expert ids -------------------------------------------------------------------------------

    /// <summary>A bad slot written into a rank's ids: what the kernel must report.</summary>
    private sealed record BadSlot(int Rank, int Token, int Slot, int Value, bool IsDuplicate)
    {
        public string Expected => IsDuplicate
            ? $"expert {Value} twice in token {Token} (slot {Slot})"
            : $"topkIds[{Token}, {Slot}] = {Value}";
    }

    private static Func<RankBatch[], int, List<BadSlot>> Inject(int rank, int token, int slot, int value) => (inputs, k) =>
    {
        inputs[rank].Ids[(token * k) + slot] = value;
        return [new BadSlot(rank, token, slot, value, false)];
    };

    private static Func<RankBatch[], int, List<BadSlot>> Duplicate(int rank, int token, int slot, int copyOf) => (inputs, k) =>
    {
        int[] ids = inputs[rank].Ids;
        if (ids[(token * k) + copyOf] < 0) ids[(token * k) + copyOf] = Enumerable.Range(0, 8).First(e => Array.IndexOf(ids, e, token * k, k) < 0);
        ids[(token * k) + slot] = ids[(token * k) + copyOf];
        return [new BadSlot(rank, token, slot, ids[(token * k) + slot], true)];
    };

    /// <summary>On each rank, about a third of the slots of random tokens get a bad value of every kind.</summary>
    private static List<BadSlot> Many(RankBatch[] inputs, int k)
    {
        var bad = new List<BadSlot>();
        var rng = new Random(1234);
        int[] values = [8 + 5, -7, 8, -2, int.MaxValue, int.MinValue, 1 << 20];
        for (int r = 0; r < inputs.Length; r++)
        {
            int[] ids = inputs[r].Ids;
            for (int t = 0; t < inputs[r].Tokens; t++)
            {
                for (int slot = 0; slot < k; slot++)
                {
                    int roll = rng.Next(6);
                    if (roll == 0) ids[(t * k) + slot] = values[rng.Next(values.Length)];
                    else if (roll == 1 && slot > 0 && ids[t * k] >= 0) ids[(t * k) + slot] = ids[t * k];
                }
            }
            bad.AddRange(BadSlots(ids, r, inputs[r].Tokens, k, 8));
        }
        return bad;
    }

    /// <summary>What the Update kernel treats as no expert: out of range, or an expert an earlier slot of the token already has.</summary>
    private static IEnumerable<BadSlot> BadSlots(int[] ids, int rank, int tokens, int k, int experts)
    {
        for (int t = 0; t < tokens; t++)
        {
            for (int slot = 0; slot < k; slot++)
            {
                int e = ids[(t * k) + slot];
                if (e < -1 || e >= experts) yield return new BadSlot(rank, t, slot, e, false);
                else if (e >= 0 && Array.IndexOf(ids, e, t * k, slot) >= 0) yield return new BadSlot(rank, t, slot, e, true);
            }
        }
    }

    private static int[] Sanitized(int[] ids, int tokens, int k, int experts)
    {
        int[] clean = (int[])ids.Clone();
        foreach (BadSlot b in BadSlots(ids, 0, tokens, k, experts)) clean[(b.Token * k) + b.Slot] = -1;
        return clean;
    }

    private static string? BadIds(GpuCase c, int seed, Func<RankBatch[], int, List<BadSlot>> corrupt)
    {
        EpConfig config = c.Config(c.Tokens);
        RankBatch[] raw = Inputs(c, seed, round: 0);
        List<BadSlot> bad = corrupt(raw, c.TopK);
        if (bad.Count == 0) return "the case injected no bad id";
        RankBatch[] clean = Inputs(c, seed, round: 0);  // the same inputs, with the bad slots set to -1
        for (int r = 0; r < c.World; r++) Sanitized(raw[r].Ids, raw[r].Tokens, c.TopK, c.Experts).CopyTo(clean[r].Ids, 0);

        RankResult[] expected = OnHost(config, c.World, g => RoundTrip(g, clean, expectError: null));
        var errors = new string?[c.World];
        string?[] guards = new string?[c.World];
        RankResult[] actual = OnCuda(config, c.World, TimeSpan.FromSeconds(5), g =>
        {
            RankResult[] results = RoundTrip(g, raw, expectError: (rank, e) => errors[rank] = e?.Message);
            for (int r = 0; r < c.World; r++) guards[r] = g.Ranks[r].Guards();
            return results;
        });

        for (int r = 0; r < c.World; r++)
        {
            if (guards[r] is not null) return $"rank {r}: {guards[r]}";
            BadSlot[] mine = bad.Where(b => b.Rank == r).ToArray();
            if (mine.Length == 0)
            {
                if (errors[r] is not null) return $"rank {r} has no bad id but raised: {errors[r]}";
                continue;
            }
            if (errors[r] is null) return $"rank {r}: {mine.Length} bad slot(s) but no EpException at the next call";
            if (!mine.Any(b => errors[r]!.Contains(b.Expected, StringComparison.Ordinal)))
                return $"rank {r}: the error names none of its bad slots ({string.Join("; ", mine.Take(4).Select(b => b.Expected))} ...): {errors[r]}";
        }
        return ResultCompare.FirstDifference(expected, actual);
    }

    // ---- (b) a rank that stops ------------------------------------------------------------------------------

    /// <summary>W = 2: rank 1 stops before Dispatch (0) or Combine (1); rank 0 times out, masks it and runs 4 round trips alone.</summary>
    private static string? DeadPeer(int stopBefore, int seed)
    {
        GpuCase c = ExpertMajor;
        EpConfig config = c.Config(c.Tokens);
        bool[] mask = [true, false];
        const int rounds = 4;
        var inputs = Enumerable.Range(0, rounds + 1).Select(round => Inputs(c, seed, round)).ToArray();

        // The oracle: rank 0 alone under the mask, for the round trips after the failure.
        var expected = new List<RankResult>();
        using (var host = new GuardedWorld(EpGroup.CreateHost(config, c.World)))
        {
            host.Groups[0].SetActiveRanks(mask);
            for (int round = 1; round <= rounds; round++) expected.Add(host.Ranks[0].FullRoundTrip(inputs[round][0]));
        }

        EpTimeoutException? timeout = null;
        TimeSpan waited = default;
        var actual = new List<RankResult>();
        string? guards = null;
        using (var gpu = new GuardedWorld(EpGroup.CreateCuda(config, new[] { 0, 0 }, new EpGroupOptions { PeerTimeout = Timeout })))
        {
            using var done = new Barrier(2);
            gpu.Ranks[0].Load(inputs[0][0]);
            gpu.Ranks[1].Load(inputs[0][1]);
            RankThreads.RunOnce(2, rank =>
            {
                GuardedRank me = gpu.Ranks[rank];
                me.Update();
                if (rank == 1)
                {
                    if (stopBefore > 0) me.Dispatch();
                    me.Sync();
                    done.SignalAndWait(TimeSpan.FromSeconds(60));  // stays idle until rank 0 is done: launches nothing more
                    return;
                }
                if (stopBefore > 0)
                {
                    me.Dispatch();
                    me.Sync();
                }
                long start = Stopwatch.GetTimestamp();
                if (stopBefore == 0) me.Dispatch();
                else me.Combine();
                try { me.Sync(); }
                catch (EpTimeoutException e) { (timeout, waited) = (e, Stopwatch.GetElapsedTime(start)); }

                gpu.Groups[0].SetActiveRanks(mask);
                for (int round = 1; round <= rounds; round++) actual.Add(me.FullRoundTrip(inputs[round][0]));
                guards = me.Guards();
                done.SignalAndWait(TimeSpan.FromSeconds(60));
            });
        }

        EpPhase phase = stopBefore == 0 ? EpPhase.DispatchReceive : EpPhase.CombineReceive;
        return CheckTimeout(timeout, waited, rank: 0, peer: 1, phase, sequence: 1)
            ?? (guards is null ? null : $"rank 0: {guards}")
            ?? CompareRounds(expected, actual, rank: 0);
    }

    /// <summary>
    /// W = 3, rank 2 never dispatches. Rank 0 learns of the time-out right after its Dispatch; rank 1 launches Combine
    /// too before it looks (its combine times out as well), so their combine sequences differ. Recovery rule: both
    /// have drained (Synchronize threw), meet, mask rank 2, meet, and 4 round trips match the Host oracle.
    /// </summary>
    private static string? OutOfStep(int seed)
    {
        GpuCase c = ExpertMajorW3;
        EpConfig config = c.Config(c.Tokens);
        bool[] mask = [true, true, false];
        const int rounds = 4;
        var inputs = Enumerable.Range(0, rounds + 1).Select(round => Inputs(c, seed, round)).ToArray();

        var expected = new List<RankResult[]>();
        using (var host = new GuardedWorld(EpGroup.CreateHost(config, c.World)))
        {
            host.Groups[0].SetActiveRanks(mask);
            host.Groups[1].SetActiveRanks(mask);
            for (int round = 1; round <= rounds; round++)
            {
                var results = new RankResult[2];
                RankThreads.RunOnce(2, rank => results[rank] = host.Ranks[rank].FullRoundTrip(inputs[round][rank]));
                expected.Add(results);
            }
        }

        var timeouts = new EpTimeoutException?[3];
        var waited = new TimeSpan[3];
        var actual = Enumerable.Range(0, rounds).Select(_ => new RankResult[2]).ToArray();
        var guards = new string?[3];
        using (var gpu = new GuardedWorld(EpGroup.CreateCuda(config, new[] { 0, 0, 0 }, new EpGroupOptions { PeerTimeout = Timeout })))
        {
            using var survivors = new Barrier(2);
            using var done = new Barrier(3);
            for (int r = 0; r < 3; r++) gpu.Ranks[r].Load(inputs[0][r]);
            RankThreads.RunOnce(3, rank =>
            {
                GuardedRank me = gpu.Ranks[rank];
                me.Update();
                if (rank == 2)
                {
                    me.Sync();
                    done.SignalAndWait(TimeSpan.FromSeconds(60));
                    return;
                }
                long start = Stopwatch.GetTimestamp();
                me.Dispatch();
                if (rank == 1) me.Combine();  // launched before rank 1 looks: it times out too, so rank 1 gets one combine further
                try { me.Sync(); }
                catch (EpTimeoutException e) { (timeouts[rank], waited[rank]) = (e, Stopwatch.GetElapsedTime(start)); }

                Meet(survivors);
                gpu.Groups[rank].SetActiveRanks(mask);
                Meet(survivors);
                for (int round = 1; round <= rounds; round++) actual[round - 1][rank] = me.FullRoundTrip(inputs[round][rank]);
                guards[rank] = me.Guards();
                done.SignalAndWait(TimeSpan.FromSeconds(60));
            });
        }

        for (int r = 0; r < 2; r++)
        {
            // Rank 1 also waited out its combine, so allow it two time-outs; the first error (dispatch) is the one raised.
            string? bad = CheckTimeout(timeouts[r], r == 1 ? waited[r] / 2 : waited[r], r, peer: 2, EpPhase.DispatchReceive, sequence: 1);
            if (bad is not null) return bad;
            if (guards[r] is not null) return $"rank {r}: {guards[r]}";
        }
        for (int round = 0; round < rounds; round++)
        {
            string? difference = ResultCompare.FirstDifference(expected[round], actual[round]);
            if (difference is not null) return $"round trip {round + 1} after recovery: {difference}";
        }
        return null;
    }

    private static void Meet(Barrier barrier)
    {
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("a survivor did not reach the barrier");
    }

    private static string? CheckTimeout(EpTimeoutException? e, TimeSpan waited, int rank, int peer, EpPhase phase, uint sequence)
    {
        if (e is null) return $"rank {rank}: no EpTimeoutException";
        if (e.Rank != rank || e.Peer != peer || e.Phase != phase || e.Sequence != sequence)
            return $"rank {rank}: expected (rank {rank}, peer {peer}, {phase}, operation {sequence}), got (rank {e.Rank}, peer {e.Peer}, {e.Phase}, operation {e.Sequence}): {e.Message}";
        if (waited < Timeout * 0.95 || waited > Timeout * 2)
            return $"rank {rank}: the time-out was raised {waited.TotalMilliseconds:0} ms after the launch; expected {Timeout.TotalMilliseconds * 0.95:0}..{Timeout.TotalMilliseconds * 2:0} ms";
        Console.WriteLine($"     rank {rank}: {e.Message} ({waited.TotalMilliseconds:0} ms after the launch)");
        return null;
    }

    private static string? CompareRounds(List<RankResult> expected, List<RankResult> actual, int rank)
    {
        if (expected.Count != actual.Count) return $"{actual.Count} round trips ran, {expected.Count} expected";
        for (int round = 0; round < expected.Count; round++)
        {
            string? difference = ResultCompare.FirstDifference([expected[round]], [actual[round]]);
            if (difference is not null) return $"round trip {round + 1} after recovery (rank {rank}): {difference}";
        }
        return null;
    }

    // ---- shared ---------------------------------------------------------------------------------------------

    /// <summary>Random inputs of every rank for one round (tokens vary per rank and round).</summary>
    internal static RankBatch[] Inputs(GpuCase c, int seed, int round) =>
        Enumerable.Range(0, c.World)
            .Select(r => c.Batch(1 + ((seed + round + (3 * r)) % c.Tokens), (seed * 1000) + (round * 10) + r))
            .ToArray();

    private static RankResult[] OnHost(EpConfig config, int world, Func<GuardedWorld, RankResult[]> run)
    {
        using var w = new GuardedWorld(EpGroup.CreateHost(config, world));
        return run(w);
    }

    private static RankResult[] OnCuda(EpConfig config, int world, TimeSpan timeout, Func<GuardedWorld, RankResult[]> run)
    {
        using var w = new GuardedWorld(EpGroup.CreateCuda(config, new int[world], new EpGroupOptions { PeerTimeout = timeout }));
        return run(w);
    }

    /// <summary>
    /// One round trip on every rank (forward and backward), with a Synchronize right after Update whose error (if any)
    /// goes to <paramref name="expectError"/>; every output is then downloaded.
    /// </summary>
    private static RankResult[] RoundTrip(GuardedWorld w, RankBatch[] inputs, Action<int, EpException?>? expectError)
    {
        int world = w.Groups.Length;
        var results = new RankResult[world];
        for (int r = 0; r < world; r++) w.Ranks[r].Load(inputs[r]);
        RankThreads.RunOnce(world, rank =>
        {
            GuardedRank me = w.Ranks[rank];
            me.Update();
            EpException? error = null;
            try { me.Sync(); }
            catch (EpException e) { error = e; }
            expectError?.Invoke(rank, error);
            if (expectError is null && error is not null) throw error;
            me.Dispatch();
            me.Combine();
            me.Backward();
            me.Sync();
            results[rank] = me.Collect();
        });
        return results;
    }
}
