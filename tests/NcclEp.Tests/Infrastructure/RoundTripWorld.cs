using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NcclEp.Testing;
using Xunit.Sdk;

namespace NcclEp.Tests.Infrastructure;

/// <summary>What a checked case gives a test's own assertions: the model, the combine output and the handle after dispatch.</summary>
internal sealed record CaseResult(int Rank, int Seed, ReferenceModel Model, uint[] Combined, HandleSnapshot AfterDispatch);

/// <summary>
/// One world (groups, handles, buffers) for one configuration, reused by many randomized cases. A case runs on
/// every rank thread: Update → Dispatch (or the routed dispatch that does both) → the experts (<see cref="AffineExperts"/>) → Combine, then Combine(Backward) →
/// the experts' backward → Dispatch(Backward), poisoning every output first (the experts' too) and comparing every
/// output bit for bit with <see cref="ReferenceModel"/>. Ranks masked out by <c>active</c> make no calls.
/// </summary>
internal sealed class RoundTripWorld : IDisposable
{
    private readonly RankThreads _threads;
    private readonly EpGroup[] _groups;
    private readonly RankRig[] _rigs;
    private readonly bool[] _active;
    private readonly RankBatch[] _batches;
    private readonly Exception?[] _failures;

    public RoundTripWorld(RankThreads threads, EpConfig config, BufferShape shape, bool[]? active = null, EpGroupOptions? options = null)
    {
        _threads = threads;
        Config = config;
        Shape = shape;
        World = threads.Ranks;
        _active = active ?? Enumerable.Repeat(true, World).ToArray();
        _groups = EpGroup.CreateHost(config, World, options ?? new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(5) });
        _rigs = new RankRig[World];
        for (int r = 0; r < World; r++)
        {
            if (_active[r] && active is not null) _groups[r].SetActiveRanks(_active);
            _rigs[r] = new RankRig(_groups[r], shape);
        }
        _batches = new RankBatch[World];
        _failures = new Exception?[World];
    }

    public EpConfig Config { get; }
    public BufferShape Shape { get; }
    public int World { get; }

    /// <summary>Draw router weights from (0, 1] only.</summary>
    public bool PositiveWeights { get; init; }

    /// <summary>Each rank sleeps 0–1 ms at random before each collective call, to vary the arrival order.</summary>
    public bool Jitter { get; init; }

    /// <summary>
    /// Route and dispatch in one call (<see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>)
    /// instead of Update, then Dispatch; each case's routing replaces the previous case's.
    /// </summary>
    public bool RoutedDispatch { get; init; }

    /// <summary>Called on each active rank after all its outputs of a case matched the reference.</summary>
    public Action<CaseResult>? OnChecked { get; init; }

    /// <summary>When set, every output (layouts, home rows, handle metadata) of every case is kept per rank.</summary>
    public List<byte[]>[]? Captured { get; init; }

    /// <summary>Masks ranks from now on: each rank still active sets the mask; masked ranks make no more calls.</summary>
    public void Mask(bool[] active)
    {
        Array.Copy(active, _active, World);
        for (int r = 0; r < World; r++)
        {
            if (_active[r]) _groups[r].SetActiveRanks(_active);
        }
    }

    /// <summary>Runs <paramref name="count"/> cases with seeds from <paramref name="firstSeed"/>; throws on the first mismatch.</summary>
    public int RunCases(int firstSeed, int count)
    {
        Array.Clear(_failures);
        int casesRun = 0;
        using var barrier = new Barrier(World);
        void Sync()
        {
            if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("rank barrier timed out");
        }
        _threads.Run(rank =>
        {
            for (int c = 0; c < count; c++)
            {
                int seed = firstSeed + c;
                _batches[rank] = CaseGenerator.Batch(new Random(CaseGenerator.Seed(seed, rank)), Config, World, PositiveWeights);
                Sync();
                if (_active[rank])
                {
                    try { RunCase(rank, seed); }
                    catch (Exception e) { _failures[rank] = e; }
                }
                Sync();
                if (_failures.Any(f => f is not null)) return;
                if (rank == 0) casesRun++;
            }
        }, TimeSpan.FromMinutes(5));

        Exception? failure = _failures.FirstOrDefault(f => f is XunitException or CheckFailedException)
            ?? _failures.FirstOrDefault(f => f is not null and not EpTimeoutException)
            ?? _failures.FirstOrDefault(f => f is not null);
        if (failure is not null)
        {
            int rank = Array.IndexOf(_failures, failure);
            string tokens = string.Join(", ", _batches.Select(b => b.Tokens));
            string what = failure is XunitException or CheckFailedException ? failure.Message : failure.ToString();
            throw new XunitException($"{Config} W={World} {Shape} active=[{string.Join(",", _active)}] seed={firstSeed + casesRun} rank {rank} (tokens per rank {tokens}): {what}");
        }
        return casesRun;
    }

    private void RunCase(int rank, int seed)
    {
        RankRig rig = _rigs[rank];
        EpGroup g = rig.Group;
        EpHandle h = rig.Handle;
        RankBatch batch = _batches[rank];
        int tokens = batch.Tokens;
        byte poison = (seed % 3) == 0 ? (byte)0xFF : (byte)0xA5;
        var jitter = new Random(CaseGenerator.Seed(seed, rank, 7));
        void Pause()
        {
            if (Jitter) Thread.Sleep(jitter.Next(2));
        }

        // Every call first (peers wait on each other inside them), every check afterwards.
        rig.UploadRouting(batch);
        rig.UploadHome(rig.X, batch.X, tokens, poison);
        rig.UploadHome(rig.Grad, batch.Grad, tokens, poison);
        foreach (EpBuffer b in new[] { rig.Received, rig.ExpertOut, rig.Combined, rig.LayoutGrad, rig.ExpertGrad, rig.TokenGrad }) b.Fill(poison);

        if (RoutedDispatch)
        {
            g.Dispatch(h, rig.IdsTensor(tokens), rig.WeightsTensor(tokens), rig.Home(rig.X, tokens), rig.Layout(rig.Received));
        }
        else
        {
            h.Update(rig.IdsTensor(tokens), rig.WeightsTensor(tokens));
            Pause();
            g.Dispatch(h, rig.Home(rig.X, tokens), rig.Layout(rig.Received));
        }
        int routedTokens = h.NumTokens;
        HandleSnapshot afterDispatch = HandleSnapshot.Take(h);
        HostAffineExperts.Apply(h, rig.Layout(rig.Received), rig.Layout(rig.ExpertOut), EpPass.Forward);
        Pause();
        g.Combine(h, rig.Layout(rig.ExpertOut), rig.Home(rig.Combined, tokens));

        Pause();
        g.Combine(h, rig.Layout(rig.LayoutGrad), rig.Home(rig.Grad, tokens), pass: EpPass.Backward);
        HandleSnapshot afterCombineBackward = HandleSnapshot.Take(h);
        HostAffineExperts.Apply(h, rig.Layout(rig.LayoutGrad), rig.Layout(rig.ExpertGrad), EpPass.Backward);
        Pause();
        g.Dispatch(h, rig.Home(rig.TokenGrad, tokens), rig.Layout(rig.ExpertGrad), pass: EpPass.Backward);

        var model = new ReferenceModel(Config, World, _batches, _active);
        ExpectedReceive expected = model.Receive(rank);
        if (routedTokens != tokens) RoundTripChecks.Fail($"NumTokens is {routedTokens}, expected {tokens}");
        RoundTripChecks.Layout("dispatch", rig, rig.Received, expected, model.DispatchedRow, poison);
        RoundTripChecks.Metadata("dispatch", Config, afterDispatch, model, expected, rank);
        uint[] combined = model.Combined(rank);
        RoundTripChecks.Home("combine", rig, rig.Combined, combined, tokens, poison);
        RoundTripChecks.Layout("combine backward", rig, rig.LayoutGrad, expected, model.CombineBackwardRow, poison);
        RoundTripChecks.Metadata("combine backward", Config, afterCombineBackward, model, expected, rank);
        RoundTripChecks.Home("dispatch backward", rig, rig.TokenGrad, model.TokenGradient(rank), tokens, poison);
        OnChecked?.Invoke(new CaseResult(rank, seed, model, combined, afterDispatch));
        if (Captured is not null)
        {
            foreach (EpBuffer b in new[] { rig.Received, rig.Combined, rig.LayoutGrad, rig.TokenGrad }) Capture(rank, b);
            foreach (HandleSnapshot snap in new[] { afterDispatch, afterCombineBackward })
            {
                foreach (int[] part in new[] { snap.RankCounts, snap.ExpertCounts, snap.ExpertOffsets, snap.Total, snap.SourceInfo, snap.TopKIds })
                    Captured[rank].Add(System.Runtime.InteropServices.MemoryMarshal.AsBytes(part.AsSpan()).ToArray());
            }
        }
    }

    private void Capture(int rank, EpBuffer buffer)
    {
        var bytes = new byte[buffer.Bytes];
        buffer.Download<byte>(bytes);
        Captured![rank].Add(bytes);
    }

    public void Dispose()
    {
        foreach (RankRig rig in _rigs) rig.Dispose();
        foreach (EpGroup g in _groups) g.Dispose();
    }
}
