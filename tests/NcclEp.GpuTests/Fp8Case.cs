using System;
using System.Runtime.InteropServices;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// One point of the FP8 grid (--suite fp8): a configuration with its recipe and the tokens each rank passes; with
/// <paramref name="Split"/> the side under test runs the FP8 dispatch and the combine as send + complete; with
/// <paramref name="Routed"/> its FP8 dispatch takes the routing itself (one launch up to 128 tokens) instead of Update first.
/// </summary>
internal sealed record Fp8Case(EpMode Mode, EpLayout Layout, EpDispatchQuantization Recipe, int World, int Hidden, int TopK, int Tokens, int Experts, EpDataType DataType,
    bool Split = false, bool Routed = false)
{
    public EpConfig Config() =>
        new EpConfig(Mode, Experts, Hidden, TopK, Math.Max(1, Tokens), Layout, DataType,
            ExpertAlignment: Mode == EpMode.HighThroughput && Layout == EpLayout.ExpertMajor ? 64 : 1) { DispatchQuantization = Recipe };

    public override string ToString() =>
        $"{(Mode == EpMode.LowLatency ? "LL" : "HT")} {Layout} {Recipe} W={World} H={Hidden} K={TopK} T={Tokens} E={Experts} {DataType}{(Split ? " send/complete" : "")}{(Routed ? " routed" : "")}";
}

/// <summary>
/// Every rank's inputs of an FP8 case: routing, rows and gradients from the shared generator (<see cref="BatchGenerator"/>),
/// with some 128-channel groups of each row replaced by the rule's special cases — all zeros (with -0), a NaN, values in
/// the subnormal range, huge values with ±infinity, exact midpoints between E4M3 codes (amax 448: scale 1), a wide range
/// — plus the expert outputs both backends read.
/// </summary>
internal sealed class Fp8CaseInputs
{
    public Fp8CaseInputs(Fp8Case c, int seed)
    {
        EpConfig config = c.Config();
        Ranks = new RankBatch[c.World];
        ExpertOutputs = new byte[c.World][];
        for (int r = 0; r < c.World; r++)
        {
            int tokens = r == c.World - 1 && c.Tokens > 1 ? c.Tokens - 1 : c.Tokens;
            Ranks[r] = BatchGenerator.Uniform(new Random((seed * 1000) + r), config, tokens, RoutingStyle.Mixed);
            SpecialGroups(Ranks[r].X, c.DataType, new Random((seed * 31) + r));
            ExpertOutputs[r] = new byte[config.ReceiveRows(c.World) * config.RowBytes];
            BatchGenerator.FillRows(new Random((seed * 104_729) + r), ExpertOutputs[r], c.DataType);
        }
    }

    /// <summary>Each rank's batch: ids, weights, token rows (with the special groups) and output gradients.</summary>
    public RankBatch[] Ranks { get; }
    public byte[][] ExpertOutputs { get; }

    /// <summary>Group g of the rows (128 channels) becomes special case g % 8 when g % 3 == 1 (the others stay random).</summary>
    private static void SpecialGroups(byte[] rows, EpDataType type, Random random)
    {
        int size = type == EpDataType.BFloat16 ? 2 : 4;
        int groups = rows.Length / size / 128;
        for (int g = 0; g < groups; g++)
        {
            if (g % 3 != 1) continue;
            for (int i = 0; i < 128; i++)
            {
                float sign = random.Next(2) == 0 ? 1 : -1;
                float value = (g / 3 % 6) switch
                {
                    0 => i % 3 == 0 ? -0f : 0f,
                    1 => i == 5 ? float.NaN : sign * random.NextSingle(),
                    2 => sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(type == EpDataType.Float32 ? -149 : -133, -118)),
                    3 => i == 0 ? float.PositiveInfinity : i == 1 ? float.NegativeInfinity : sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(120, 127)),
                    4 => i == 7 ? 448f : sign * Midpoint(random),
                    _ => i == 3 ? -1792f : sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(-16, 2)),
                };
                Write(rows, ((g * 128) + i) * size, value, type);
            }
        }
    }

    /// <summary>Halfway between two neighbouring E4M3 codes (exact in bf16: 4 significant bits).</summary>
    private static float Midpoint(Random random)
    {
        int code = random.Next(0x7E);
        return (new Float8E4M3((byte)code).ToSingle() + new Float8E4M3((byte)(code + 1)).ToSingle()) / 2;
    }

    private static void Write(byte[] rows, long at, float value, EpDataType type)
    {
        if (type == EpDataType.BFloat16) MemoryMarshal.Write(rows.AsSpan((int)at), BFloat16.FromSingle(value).Bits);
        else MemoryMarshal.Write(rows.AsSpan((int)at), value);
    }
}
