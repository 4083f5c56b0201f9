using System;
using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// An FP8 dispatch refuses, before anything is launched and naming the argument, a configuration it cannot serve and
/// every mismatched tensor: the received rows and scales keep their sentinel.
/// </summary>
public class Fp8BadInputTests
{
    private const int Hidden = 1024, Tokens = 4, TopK = 2, Experts = 4;

    [Fact]
    public void UE8M0_needs_a_hidden_size_that_is_a_multiple_of_512()
    {
        var config = new EpConfig(EpMode.LowLatency, Experts, 640, TopK, Tokens, EpLayout.ExpertMajor)
        {
            DispatchQuantization = EpDispatchQuantization.Float8E4M3UE8M0,
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>("Hidden", () => config.Validate(1));
        Assert.Contains("512", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>("Hidden", () => EpGroup.CreateHost(config, 1));
        (config with { DispatchQuantization = EpDispatchQuantization.Float8E4M3 }).Validate(1);
    }

    [Fact]
    public void An_undefined_recipe_and_FP8_token_rows_are_refused()
    {
        var config = new EpConfig(EpMode.LowLatency, Experts, Hidden, TopK, Tokens, EpLayout.ExpertMajor);
        Assert.Throws<ArgumentOutOfRangeException>("DispatchQuantization", () => (config with { DispatchQuantization = (EpDispatchQuantization)7 }).Validate(1));
        var e = Assert.Throws<ArgumentException>("DataType", () => (config with { DataType = EpDataType.Float8E4M3 }).Validate(1));
        Assert.Contains("DispatchQuantization", e.Message);
    }

    [Theory]
    [InlineData(EpLayout.ExpertMajor)]
    [InlineData(EpLayout.RankMajor)]
    public void The_forward_dispatch_of_an_FP8_group_without_scales_is_refused_naming_receivedScales(EpLayout layout)
    {
        using var rig = new Rig(EpMode.LowLatency, layout, EpDispatchQuantization.Float8E4M3);
        rig.AssertRejected<ArgumentException>("receivedScales", () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3)));
        rig.AssertRejected<ArgumentException>("receivedScales", () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.BFloat16)));
    }

    [Fact]
    public void Scales_given_to_a_group_without_a_recipe_are_refused_naming_receivedScales()
    {
        using var rig = new Rig(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.None);
        EpTensor scales = EpTensor.Create2D(rig.Scales.Pointer, EpDataType.Float32, Hidden / 128, rig.Config.ReceiveRows(1));
        rig.AssertRejected<ArgumentException>("receivedScales", () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), scales));
    }

    [Theory]
    [InlineData(EpDispatchQuantization.Float8E4M3)]
    [InlineData(EpDispatchQuantization.Float8E4M3UE8M0)]
    public void Received_rows_that_are_not_FP8_are_refused_naming_received(EpDispatchQuantization recipe)
    {
        using var rig = new Rig(EpMode.LowLatency, EpLayout.ExpertMajor, recipe);
        rig.AssertRejected<ArgumentException>("received", () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.BFloat16), rig.ScalesTensor()));
    }

    [Fact]
    public void Scales_of_the_wrong_element_type_are_refused_naming_receivedScales()
    {
        using var fp32 = new Rig(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3);
        EpTensor packed = fp32.ScalesTensor(EpDataType.PackedUE8M0);
        fp32.AssertRejected<ArgumentException>("receivedScales", () => fp32.Group.Dispatch(fp32.Handle, fp32.X, fp32.ReceivedTensor(EpDataType.Float8E4M3), packed));
        using var ue8m0 = new Rig(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3UE8M0);
        EpTensor floats = ue8m0.ScalesTensor(EpDataType.Float32);
        ue8m0.AssertRejected<ArgumentException>("receivedScales", () => ue8m0.Group.Dispatch(ue8m0.Handle, ue8m0.X, ue8m0.ReceivedTensor(EpDataType.Float8E4M3), floats));
        EpTensor ints = ue8m0.ScalesTensor(EpDataType.Int32);
        ue8m0.AssertRejected<ArgumentException>("receivedScales", () => ue8m0.Group.Dispatch(ue8m0.Handle, ue8m0.X, ue8m0.ReceivedTensor(EpDataType.Float8E4M3), ints));
    }

    [Fact]
    public void Scales_of_the_wrong_shape_are_refused_naming_receivedScales()
    {
        using var rig = new Rig(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3);
        nint p = rig.Scales.Pointer;
        long slots = Tokens;  // world 1: worldSize × maxTokensPerRank
        EpTensor[] bad =
        [
            EpTensor.Create3D(p, EpDataType.Float32, Experts, Hidden / 128 + 1, slots),     // one column too many
            EpTensor.Create3D(p, EpDataType.Float32, Experts, Hidden / 512, slots),         // UE8M0's column count
            EpTensor.Create3D(p, EpDataType.Float32, Experts, slots, Hidden / 128),         // rows and columns swapped
            EpTensor.Create3D(p, EpDataType.Float32, Experts - 1, Hidden / 128, slots),     // an expert short
            EpTensor.Create2D(p, EpDataType.Float32, Hidden / 128, Experts * slots),        // the 2-D layout's shape
        ];
        foreach (EpTensor scales in bad)
            rig.AssertRejected<ArgumentException>("receivedScales", () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), scales));
    }

    [Fact]
    public void Scales_whose_strides_overlap_or_whose_rows_are_not_contiguous_are_refused_naming_receivedScales()
    {
        using var rig = new Rig(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3);
        nint p = rig.Scales.Pointer;
        int columns = Hidden / 128;
        long slots = Tokens;
        EpTensor[] bad =
        [
            EpTensor.Create3D(p, EpDataType.Float32, Experts, columns, slots, columns * slots, slots - 1),       // columns overlap
            EpTensor.Create3D(p, EpDataType.Float32, Experts, columns, slots, (columns * slots) - 1, slots),    // experts overlap
            EpTensor.Create3D(p, EpDataType.Float32, Experts, columns, slots, columns * slots * 2, slots * 2, 2), // rows not contiguous
            EpTensor.Create3D(p, EpDataType.Float32, Experts, columns, slots, 0, slots),                        // every expert the same memory
        ];
        foreach (EpTensor scales in bad)
            rig.AssertRejected<ArgumentException>("receivedScales", () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), scales));
        // Blocks interleaved inside columns ([columns][experts][slots] in memory) do not overlap: accepted.
        rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3),
            EpTensor.Create3D(p, EpDataType.Float32, Experts, columns, slots, slots, Experts * slots));
    }

    [Fact]
    public void Scales_with_a_null_or_misaligned_pointer_or_overlapping_the_rows_are_refused_naming_receivedScales()
    {
        using var rig = new Rig(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3);
        long rows = rig.Config.ReceiveRows(1);
        int columns = Hidden / 128;
        rig.AssertRejected<ArgumentNullException>("receivedScales",
            () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), EpTensor.Create2D(0, EpDataType.Float32, columns, rows)));
        rig.AssertRejected<ArgumentException>("receivedScales",
            () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), EpTensor.Create2D(rig.Scales.Pointer + 2, EpDataType.Float32, columns, rows)));
        rig.AssertRejected<ArgumentException>("receivedScales",
            () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), EpTensor.Create2D(rig.Received.Pointer, EpDataType.Float32, columns, rows)));
        rig.AssertRejected<ArgumentException>("receivedScales",
            () => rig.Group.Dispatch(rig.Handle, rig.X, rig.ReceivedTensor(EpDataType.Float8E4M3), EpTensor.Create2D(rig.Scales.Pointer, EpDataType.Float32, columns, rows - 1)));
    }

    /// <summary>One Host rank of a (mode, layout, recipe) with routed tokens and sentinel-filled outputs.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly EpGroup _group;

        public Rig(EpMode mode, EpLayout layout, EpDispatchQuantization recipe)
        {
            Config = new EpConfig(mode, Experts, Hidden, TopK, Tokens, layout) { DispatchQuantization = recipe };
            _group = EpGroup.CreateHost(Config, 1)[0];
            Handle = _group.CreateHandle();
            long rows = Config.ReceiveRows(1);
            Received = _group.AllocateBuffer(rows * Hidden * 2);
            Scales = _group.AllocateBuffer(rows * (Hidden / 128) * 4 * 4);
            Ids = _group.AllocateBuffer(Tokens * TopK * 4);
            Weights = _group.AllocateBuffer(Tokens * TopK * 4);
            Tokens_ = _group.AllocateBuffer(Tokens * Hidden * 2);
            Ids.Upload<int>([0, 1, 2, 3, 1, -1, 3, 2]);
            Weights.Upload<float>([0.5f, 0.5f, 0.5f, 0.5f, 1f, 0f, 0.25f, 0.75f]);
            Tokens_.Fill(0x3F);
            Received.Fill(0xEE);
            Scales.Fill(0xEE);
            Handle.Update(Ids.As2D(EpDataType.Int32, Tokens, TopK), Weights.As2D(EpDataType.Float32, Tokens, TopK));
        }

        public EpConfig Config { get; }
        public EpGroup Group => _group;
        public EpHandle Handle { get; }
        public EpBuffer Received { get; }
        public EpBuffer Scales { get; }
        private EpBuffer Ids { get; }
        private EpBuffer Weights { get; }
        private EpBuffer Tokens_ { get; }
        public EpTensor X => Tokens_.As2D(EpDataType.BFloat16, Tokens, Hidden);

        public EpTensor ReceivedTensor(EpDataType type) => Fp8Step.Layout(Received, Config, _group, type);

        /// <summary>The scales the layout wants, of <paramref name="type"/> (default: the recipe's).</summary>
        public EpTensor ScalesTensor(EpDataType? type = null)
        {
            EpDataType t = type ?? Config.ScalesDataType;
            int columns = t == EpDataType.PackedUE8M0 ? Hidden / 512 : Hidden / 128;
            return Config.Mode == EpMode.LowLatency
                ? Scales.As3D(t, Config.Layout == EpLayout.ExpertMajor ? Experts : 1, columns, Config.Layout == EpLayout.ExpertMajor ? Tokens : Tokens)
                : Scales.As2D(t, columns, Config.ReceiveRows(1));
        }

        /// <summary>The call throws <typeparamref name="T"/> naming <paramref name="parameter"/>, and writes nothing.</summary>
        public void AssertRejected<T>(string parameter, Action call) where T : ArgumentException
        {
            T e = Assert.Throws<T>(call);
            Assert.Equal(parameter, e.ParamName);
            var received = new byte[Received.Bytes];
            Received.Download<byte>(received);
            Assert.All(received, b => Assert.Equal(0xEE, b));
            var scales = new byte[Scales.Bytes];
            Scales.Download<byte>(scales);
            Assert.All(scales, b => Assert.Equal(0xEE, b));
        }

        public void Dispose()
        {
            Handle.Dispose();
            Received.Dispose();
            Scales.Dispose();
            Ids.Dispose();
            Weights.Dispose();
            Tokens_.Dispose();
            _group.Dispose();
        }
    }
}
