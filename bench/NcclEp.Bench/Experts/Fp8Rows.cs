using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// The received FP8 rows of a rank (--dtype fp8) read back with their scales: dequantized for the host experts, and the
/// reference the validator compares them with — the source row quantized by the library's rule (<see cref="EpQuantization"/>,
/// what the Host backend does), so the Cuda backend is checked bit for bit against it.
/// </summary>
internal sealed class Fp8Rows
{
    private readonly RankState _s;
    private readonly byte[] _codes;
    private readonly uint[] _scales;
    private readonly uint[] _allScales;
    private readonly float[] _group = new float[EpQuantization.GroupSize];
    private readonly Float8E4M3[] _quantized = new Float8E4M3[EpQuantization.GroupSize];

    public Fp8Rows(RankState state, int chunkRows)
    {
        _s = state;
        _codes = new byte[chunkRows * state.Config.Hidden];
        _scales = new uint[chunkRows * state.Config.ScaleColumns];
        _allScales = new uint[state.ScalesBuffer!.Bytes / 4];
    }

    /// <summary>Downloads the whole scales tensor (once per pass over the rows: its columns are a layout's rows apart).</summary>
    public void Refresh() => _s.ScalesBuffer!.Download<uint>(_allScales);

    /// <summary>The FP8 rows [first, first + n) as downloaded (hidden bytes each).</summary>
    public ReadOnlySpan<byte> Codes(int n) => _codes.AsSpan(0, n * _s.Config.Hidden);

    /// <summary>The scale words of rows [first, first + n), row by row (<see cref="EpConfig.ScaleColumns"/> each).</summary>
    public ReadOnlySpan<uint> Scales(int n) => _scales.AsSpan(0, n * _s.Config.ScaleColumns);

    /// <summary>Downloads rows [first, first + n) and picks their scale words from the last <see cref="Refresh"/>.</summary>
    public void Load(long first, int n)
    {
        EpConfig c = _s.Config;
        _s.ReceivedBuffer.Download(_codes.AsSpan(0, n * c.Hidden), _s.ReceivedRowOffset(first));
        for (int i = 0; i < n; i++)
        {
            for (int column = 0; column < c.ScaleColumns; column++)
                _scales[(i * c.ScaleColumns) + column] = _allScales[_s.ScaleElement(first + i, column)];
        }
    }

    /// <summary>Rows [first, first + n) dequantized into <paramref name="rows"/> in the configuration's row type.</summary>
    public void Dequantize(long first, int n, Span<byte> rows)
    {
        Load(first, n);
        EpConfig c = _s.Config;
        for (int i = 0; i < n; i++)
        {
            for (int e = 0; e < c.Hidden; e++)
                Store(rows, (i * c.Hidden) + e, new Float8E4M3(_codes[(i * c.Hidden) + e]), Scale(i, e / EpQuantization.GroupSize), c.DataType);
        }
    }

    /// <summary>
    /// Every rank's batch with its token rows replaced by what the experts read after an FP8 dispatch: each row quantized
    /// by the library's rule and dequantized as <see cref="Dequantize"/> does (the reference model's input for --dtype fp8).
    /// </summary>
    public static RankBatch[] DequantizedBatches(in EpConfig c, IReadOnlyList<RankBatch> batches)
    {
        var result = new RankBatch[batches.Count];
        var group = new float[EpQuantization.GroupSize];
        var codes = new Float8E4M3[EpQuantization.GroupSize];
        for (int r = 0; r < batches.Count; r++)
        {
            RankBatch b = batches[r];
            var copy = new RankBatch(b.Tokens, b.TopK, b.Hidden, b.DataType, gradient: false);
            b.Ids.CopyTo(copy.Ids, 0);
            b.Weights.CopyTo(copy.Weights, 0);
            for (int t = 0; t < b.Tokens; t++)
            {
                for (int first = 0; first < b.Hidden; first += EpQuantization.GroupSize)
                {
                    for (int e = 0; e < group.Length; e++) group[e] = b.XAt(t, first + e);
                    float scale = EpQuantization.QuantizeGroup(group, codes, c.DispatchQuantization);
                    for (int e = 0; e < group.Length; e++) Store(copy.X, ((long)t * b.Hidden) + first + e, codes[e], scale, b.DataType);
                }
            }
            result[r] = copy;
        }
        return result;
    }

    /// <summary>One dequantized element: the E4M3 value × its scale in fp32, rounded once to <paramref name="type"/>.</summary>
    private static void Store(Span<byte> rows, long index, Float8E4M3 code, float scale, EpDataType type)
    {
        float value = code.ToSingle() * scale;
        if (type == EpDataType.BFloat16) MemoryMarshal.Cast<byte, ushort>(rows)[(int)index] = BFloat16.RoundBits(value);
        else MemoryMarshal.Cast<byte, float>(rows)[(int)index] = value;
    }

    /// <summary>The scale of 128-channel group <paramref name="group"/> of loaded row <paramref name="i"/>.</summary>
    private float Scale(int i, int group)
    {
        EpConfig c = _s.Config;
        if (c.DispatchQuantization != EpDispatchQuantization.Float8E4M3UE8M0)
            return BitConverter.UInt32BitsToSingle(_scales[(i * c.ScaleColumns) + group]);
        var word = new PackedUE8M0(_scales[(i * c.ScaleColumns) + (group / EpQuantization.PackedGroups)]);
        return word.Scale(group % EpQuantization.PackedGroups);
    }

    /// <summary>
    /// Loaded row <paramref name="i"/> against <paramref name="source"/> (a token row, or null for a padding row: zeros with
    /// a zero row's scales); the first difference, or null.
    /// </summary>
    public string? Compare(int i, ReadOnlySpan<byte> source)
    {
        EpConfig c = _s.Config;
        for (int g = 0; g < c.Hidden / EpQuantization.GroupSize; g++)
        {
            int first = g * EpQuantization.GroupSize;
            for (int e = 0; e < _group.Length; e++)
            {
                _group[e] = source.IsEmpty ? 0f
                    : c.DataType == EpDataType.BFloat16 ? new BFloat16(MemoryMarshal.Cast<byte, ushort>(source)[first + e]).ToSingle()
                    : MemoryMarshal.Cast<byte, float>(source)[first + e];
            }
            float scale = EpQuantization.QuantizeGroup(_group, _quantized, c.DispatchQuantization);
            for (int e = 0; e < _group.Length; e++)
            {
                byte got = _codes[(i * c.Hidden) + first + e];
                if (got != _quantized[e].Bits) return $"FP8 channel {first + e} is 0x{got:X2}; the rule gives 0x{_quantized[e].Bits:X2}";
            }
            if (Scale(i, g) != scale) return $"the scale of channels {first}..{first + 127} is {Scale(i, g):R}; the rule gives {scale:R}";
        }
        return null;
    }
}
