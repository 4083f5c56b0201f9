using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace NcclEp.Testing;

/// <summary>
/// Element-wise fp32 arithmetic over whole rows, in SIMD lanes where the machine has them: each lane does exactly the
/// scalar IEEE operation (one rounding per multiply or add, never fused), so the results are the bits the scalar
/// definitions give. The bf16 rounding is <see cref="Numerics.RoundToBf16Bits"/>'s, lane by lane.
/// </summary>
public static class RowMath
{
    /// <summary>dst[i] = the float element i of <paramref name="row"/> stands for (exact).</summary>
    public static void Decode(ReadOnlySpan<byte> row, EpDataType type, Span<float> dst)
    {
        if (type == EpDataType.Float32)
        {
            MemoryMarshal.Cast<byte, float>(row)[..dst.Length].CopyTo(dst);
            return;
        }
        ReadOnlySpan<ushort> bits = MemoryMarshal.Cast<byte, ushort>(row)[..dst.Length];
        Span<uint> wide = MemoryMarshal.Cast<float, uint>(dst);
        for (int i = 0; i < bits.Length; i++) wide[i] = (uint)bits[i] << 16;
    }

    /// <summary>dst[i] = fl(fl(x[i]·a) + b), or fl(x[i]·a) when <paramref name="addOffset"/> is false.</summary>
    public static void Affine(ReadOnlySpan<float> x, float a, float b, bool addOffset, Span<float> dst)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(a);
            var vb = new Vector<float>(b);
            for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
            {
                Vector<float> product = new Vector<float>(x[i..]) * va;
                (addOffset ? product + vb : product).CopyTo(dst[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            float product = x[i] * a;
            dst[i] = addOffset ? product + b : product;
        }
    }

    /// <summary>v[i] = fl(w·v[i]).</summary>
    public static void Scale(Span<float> v, float w)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vw = new Vector<float>(w);
            for (; i + Vector<float>.Count <= v.Length; i += Vector<float>.Count) (vw * new Vector<float>(v[i..])).CopyTo(v[i..]);
        }
        for (; i < v.Length; i++) v[i] = w * v[i];
    }

    /// <summary>acc[i] = fl(acc[i] + v[i]).</summary>
    public static void AddTo(Span<float> acc, ReadOnlySpan<float> v)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<float>.Count <= acc.Length; i += Vector<float>.Count)
                (new Vector<float>(acc[i..]) + new Vector<float>(v[i..])).CopyTo(acc[i..]);
        }
        for (; i < acc.Length; i++) acc[i] += v[i];
    }

    /// <summary>Rounds every value to the precision of <paramref name="type"/> (bf16: to nearest even; fp32: unchanged).</summary>
    public static void Round(Span<float> v, EpDataType type)
    {
        if (type == EpDataType.Float32) return;
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(v);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<uint>.Count <= bits.Length; i += Vector<uint>.Count) RoundBf16(new Vector<uint>(bits[i..])).CopyTo(bits[i..]);
        }
        for (; i < bits.Length; i++) bits[i] = Numerics.RoundToBf16Bits(BitConverter.UInt32BitsToSingle(bits[i])) << 16;
    }

    /// <summary>Writes each value as one element of <paramref name="type"/> (rounded once) into <paramref name="row"/>.</summary>
    public static void Encode(ReadOnlySpan<float> v, EpDataType type, Span<byte> row)
    {
        if (type == EpDataType.Float32)
        {
            v.CopyTo(MemoryMarshal.Cast<byte, float>(row));
            return;
        }
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(v);
        Span<ushort> dst = MemoryMarshal.Cast<byte, ushort>(row);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + (2 * Vector<uint>.Count) <= bits.Length; i += 2 * Vector<uint>.Count)
            {
                Vector<uint> lo = Vector.ShiftRightLogical(RoundBf16(new Vector<uint>(bits[i..])), 16);
                Vector<uint> hi = Vector.ShiftRightLogical(RoundBf16(new Vector<uint>(bits[(i + Vector<uint>.Count)..])), 16);
                Vector.Narrow(lo, hi).CopyTo(dst[i..]);
            }
        }
        for (; i < bits.Length; i++) dst[i] = (ushort)Numerics.RoundToBf16Bits(BitConverter.UInt32BitsToSingle(bits[i]));
    }

    /// <summary>float bits → the float bits of the nearest bf16, ties to even; a NaN keeps its sign and becomes quiet.</summary>
    private static Vector<uint> RoundBf16(Vector<uint> bits)
    {
        var high = new Vector<uint>(0xFFFF0000u);
        Vector<uint> isNan = Vector.GreaterThan(bits & new Vector<uint>(0x7FFFFFFFu), new Vector<uint>(0x7F800000u));
        Vector<uint> lsb = Vector.ShiftRightLogical(bits, 16) & Vector<uint>.One;
        Vector<uint> rounded = (bits + new Vector<uint>(0x7FFFu) + lsb) & high;
        Vector<uint> quiet = (bits | new Vector<uint>(0x00400000u)) & high;
        return Vector.ConditionalSelect(isNan, quiet, rounded);
    }
}
