using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Fused;

/// <summary>
/// The dispatch that takes the routing with the tokens (issue 19, item 1: one launch per phase on Cuda) is exactly
/// Update followed by Dispatch: every output, the whole handle state (send side included) and the combines and backward
/// passes after it, bit for bit, in every layout and mode, as a plain call and as send + complete; its round trips of
/// distinct experts match the reference; and it replaces the routing a previous Update left (other experts, other token
/// count) rather than dispatching by it.
/// </summary>
public sealed class RoutedDispatchTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    private const int World = 3;
    private const byte Poison = 0xA5;

    public static TheoryData<EpMode, EpLayout, EpDataType, int, EpCombineReduction> Kinds() => new()
    {
        { EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 1, EpCombineReduction.PerSlot },
        { EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 1, EpCombineReduction.PerRank },
        { EpMode.LowLatency, EpLayout.RankMajor, EpDataType.Float32, 1, EpCombineReduction.PerSlot },
        { EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16, 1, EpCombineReduction.PerSlot },
        { EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.Float32, 4, EpCombineReduction.PerSlot },
        { EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16, 16, EpCombineReduction.PerRank },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Routed_dispatch_leaves_every_output_and_the_whole_handle_state_of_update_then_dispatch(
        EpMode mode, EpLayout layout, EpDataType type, int alignment, EpCombineReduction reduction)
    {
        const int Rounds = 4;
        int seed = CaseGenerator.Seed(19, 1, (int)mode, (int)layout, alignment, (int)reduction);
        var rng = new Random(seed);
        EpConfig config = CaseGenerator.Config(rng, mode, layout, type, alignment, World) with { CombineReduction = reduction };
        BufferShape shape = CaseGenerator.Shape(rng, config);
        EpGroup[] groups = EpGroup.CreateHost(config, World);
        var batches = new RankBatch[World];
        try
        {
            pool.For(World).Run(rank =>
            {
                using var plain = new RankRig(groups[rank], shape);
                using var routed = new RankRig(groups[rank], shape);
                for (int round = 0; round < Rounds; round++)
                {
                    // Each round brings other experts and token counts: the routed call must replace the last round's routing.
                    RankBatch batch = CaseGenerator.Batch(new Random(CaseGenerator.Seed(seed, round, rank)), config, World);
                    batches[rank] = batch;
                    foreach (RankRig rig in new[] { plain, routed }) Load(rig, batch);

                    plain.Handle.Update(plain.IdsTensor(batch.Tokens), plain.WeightsTensor(batch.Tokens));
                    plain.Group.Dispatch(plain.Handle, plain.Home(plain.X, batch.Tokens), plain.Layout(plain.Received));
                    // Odd rounds: the send half with its complete.
                    bool split = round % 2 == 1;
                    RoutedDispatch(routed, batch.Tokens, split);

                    string where = $"round {round}{(split ? " (send + complete)" : "")}, rank {rank}";
                    Assert.Equal(batch.Tokens, routed.Handle.NumTokens);
                    Assert.False(routed.Handle.HasSendInFlight, where);
                    AssertSameBytes(HandleBytes(plain.Handle), HandleBytes(routed.Handle), $"{where}: handle state");
                    AssertSameBytes(Bytes(plain.Received), Bytes(routed.Received), $"{where}: dispatch output");
                    foreach (RankRig rig in new[] { plain, routed }) RunRestOfRoundTrip(rig, batch.Tokens);
                    foreach ((EpBuffer a, EpBuffer b, string what) in new[]
                    {
                        (plain.ExpertOut, routed.ExpertOut, "expert outputs"), (plain.Combined, routed.Combined, "combined"),
                        (plain.LayoutGrad, routed.LayoutGrad, "combine backward"), (plain.TokenGrad, routed.TokenGrad, "dispatch backward"),
                    })
                    {
                        AssertSameBytes(Bytes(a), Bytes(b), $"{where}: {what}");
                    }
                    AssertSameBytes(HandleBytes(plain.Handle), HandleBytes(routed.Handle), $"{where}: handle state after the round trip");
                }
            }, TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1, EpDataType.Float32)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4, EpDataType.BFloat16)]
    public void Round_trips_through_the_routed_dispatch_match_the_reference_bit_for_bit(EpMode mode, EpLayout layout, int alignment, EpDataType type)
    {
        foreach (int world in new[] { 1, 2, 4 })
        {
            int seed = CaseGenerator.Seed(19, 2, (int)mode, (int)layout, alignment, world);
            var rng = new Random(seed);
            EpConfig config = CaseGenerator.Config(rng, mode, layout, type, alignment, world);
            using var w = new RoundTripWorld(pool.For(world), config, CaseGenerator.Shape(rng, config)) { RoutedDispatch = true };
            Assert.Equal(6, w.RunCases(seed, 6));
        }
    }

    /// <summary>
    /// The handle holds another routing (other experts, more tokens) from an Update and a dispatch by it: the routed
    /// dispatch must send by its own routing. A call that skipped the routing would place the old routing's rows.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Routed_dispatch_replaces_the_routing_an_earlier_update_left(bool split)
    {
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 2, MaxTokensPerRank: 6, EpLayout.ExpertMajor);
        const int world = 2;
        var shape = new BufferShape(config.Hidden, config.Hidden, config.Hidden, 0, config.TopK, config.TopK);
        var stale = new RankBatch[world];
        var fresh = new RankBatch[world];
        for (int r = 0; r < world; r++)
        {
            stale[r] = Batch(config, tokens: 6, first: r, seed: 10 + r);
            fresh[r] = Batch(config, tokens: 4 - r, first: 4 + r, seed: 20 + r);  // other experts for each token, fewer tokens
        }
        EpGroup[] groups = EpGroup.CreateHost(config, world);
        try
        {
            var model = new ReferenceModel(config, world, fresh);
            pool.For(world).Run(rank =>
            {
                using var rig = new RankRig(groups[rank], shape);
                Load(rig, stale[rank]);
                rig.Handle.Update(rig.IdsTensor(stale[rank].Tokens), rig.WeightsTensor(stale[rank].Tokens));
                rig.Group.Dispatch(rig.Handle, rig.Home(rig.X, stale[rank].Tokens), rig.Layout(rig.Received));

                Load(rig, fresh[rank]);
                RoutedDispatch(rig, fresh[rank].Tokens, split);

                Assert.Equal(fresh[rank].Tokens, rig.Handle.NumTokens);
                ExpectedReceive expected = model.Receive(rank);
                Assert.NotEmpty(expected.Rows);
                RoundTripChecks.Layout("routed dispatch", rig, rig.Received, expected, model.DispatchedRow, Poison);
                RoundTripChecks.Metadata("routed dispatch", config, HandleSnapshot.Take(rig.Handle), model, expected, rank);
                RunRestOfRoundTrip(rig, fresh[rank].Tokens);
                RoundTripChecks.Home("combine", rig, rig.Combined, model.Combined(rank), fresh[rank].Tokens, Poison);
            }, TimeSpan.FromMinutes(1));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    /// <summary>The routed dispatch of <paramref name="tokens"/> tokens over the rig's buffers, plain or as send + complete.</summary>
    private static void RoutedDispatch(RankRig rig, int tokens, bool split)
    {
        EpGroup g = rig.Group;
        EpTensor ids = rig.IdsTensor(tokens), weights = rig.WeightsTensor(tokens), x = rig.Home(rig.X, tokens), received = rig.Layout(rig.Received);
        if (!split)
        {
            g.Dispatch(rig.Handle, ids, weights, x, received);
            return;
        }
        g.DispatchSend(rig.Handle, ids, weights, x, received);
        Assert.True(rig.Handle.HasSendInFlight);
        g.Complete(rig.Handle);
    }

    /// <summary>The batch's routing and rows in the rig's buffers (at its pitches), every output poisoned.</summary>
    private static void Load(RankRig rig, RankBatch batch)
    {
        rig.UploadRouting(batch);
        rig.UploadHome(rig.X, batch.X, batch.Tokens, Poison);
        rig.UploadHome(rig.Grad, batch.Grad, batch.Tokens, Poison);
        foreach (EpBuffer b in new[] { rig.Received, rig.ExpertOut, rig.Combined, rig.LayoutGrad, rig.ExpertGrad, rig.TokenGrad }) b.Fill(Poison);
    }

    /// <summary>After the dispatch: the experts, Combine, Combine backward, the experts' backward, Dispatch backward.</summary>
    private static void RunRestOfRoundTrip(RankRig rig, int tokens)
    {
        EpGroup g = rig.Group;
        EpHandle h = rig.Handle;
        HostAffineExperts.Apply(h, rig.Layout(rig.Received), rig.Layout(rig.ExpertOut), EpPass.Forward);
        g.Combine(h, rig.Layout(rig.ExpertOut), rig.Home(rig.Combined, tokens));
        g.Combine(h, rig.Layout(rig.LayoutGrad), rig.Home(rig.Grad, tokens), pass: EpPass.Backward);
        HostAffineExperts.Apply(h, rig.Layout(rig.LayoutGrad), rig.Layout(rig.ExpertGrad), EpPass.Backward);
        g.Dispatch(h, rig.Home(rig.TokenGrad, tokens), rig.Layout(rig.ExpertGrad), pass: EpPass.Backward);
    }

    /// <summary>Token t picks experts first + t and first + t + 2 (mod E), with weights and rows drawn from the seed.</summary>
    private static RankBatch Batch(EpConfig config, int tokens, int first, int seed)
    {
        var rng = new Random(seed);
        var batch = new RankBatch(tokens, config.TopK, config.Hidden, config.DataType);
        for (int t = 0; t < tokens; t++)
        {
            batch.Ids[2 * t] = (first + t) % config.NumExperts;
            batch.Ids[(2 * t) + 1] = (first + t + 2) % config.NumExperts;
            batch.Weights[2 * t] = 0.25f + (float)rng.NextDouble();
            batch.Weights[(2 * t) + 1] = -0.5f + (float)rng.NextDouble();
        }
        BatchGenerator.FillRows(rng, batch.X, config.DataType);
        BatchGenerator.FillRows(rng, batch.Grad, config.DataType);
        return batch;
    }

    /// <summary>Every byte of the handle's state: routing, positions, counts, send lists and the receive side.</summary>
    private static byte[] HandleBytes(EpHandle h)
    {
        var bytes = new byte[h.Layout.TotalBytes];
        HandleState.Read<byte>(h, h.State, bytes);
        return bytes;
    }

    private static byte[] Bytes(EpBuffer b)
    {
        var bytes = new byte[b.Bytes];
        b.Download<byte>(bytes);
        return bytes;
    }

    private static void AssertSameBytes(byte[] expected, byte[] actual, string what)
    {
        int at = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(at == expected.Length && expected.Length == actual.Length, $"{what}: differs at byte {at} of {expected.Length}");
    }
}
