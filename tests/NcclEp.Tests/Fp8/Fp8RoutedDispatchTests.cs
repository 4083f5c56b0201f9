using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// The FP8 dispatch that takes the routing with the tokens (plain and as send + complete) leaves every output of Update
/// followed by the FP8 dispatch bit for bit — counts, source info, FP8 rows, scales, and the combine and both backward
/// passes after it — in every layout of both modes.
/// </summary>
public class Fp8RoutedDispatchTests
{
    private const int Experts = 8, TopK = 3, Tokens = 6, Hidden = 1024;

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, false)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3UE8M0, true)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3PowerOfTwo, false)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3UE8M0, true)]
    public void Routed_FP8_dispatch_gives_update_then_FP8_dispatch_bit_for_bit(EpMode mode, EpLayout layout, EpDispatchQuantization recipe, bool split)
    {
        const int world = 2;
        var config = new EpConfig(mode, Experts, Hidden, TopK, Tokens, layout,
            ExpertAlignment: mode == EpMode.HighThroughput && layout == EpLayout.ExpertMajor ? 4 : 1) { DispatchQuantization = recipe };
        var inputs = new Fp8Inputs[world];
        for (int r = 0; r < world; r++) inputs[r] = new Fp8Inputs(config, r, Tokens - r, seed: 190 + r);

        Fp8RankResult[] separate = Fp8Step.Run(config, world, inputs, split);
        Fp8RankResult[] routed = Fp8Step.Run(config, world, inputs, split, routed: true);

        for (int r = 0; r < world; r++) Fp8Step.AssertSame(separate[r], routed[r], r);
    }
}
