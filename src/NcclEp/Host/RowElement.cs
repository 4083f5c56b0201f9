using System;
using System.Runtime.CompilerServices;

namespace NcclEp.Host;

/// <summary>Loads and stores one element of a token row as float: the only dtype-specific step of the kernels.</summary>
internal unsafe interface IRowElement
{
    static abstract float Load(byte* row, int index);

    static abstract void Store(byte* row, int index, float value);

    /// <summary>The value a store then a load gives back: rounded to the row type.</summary>
    static abstract float Round(float value);
}

/// <summary>bf16 rows: load widens exactly, store rounds to nearest even (as the CUDA kernels do).</summary>
internal readonly unsafe struct Bf16Element : IRowElement
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(byte* row, int index) => BitConverter.UInt32BitsToSingle((uint)((ushort*)row)[index] << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(byte* row, int index, float value) => ((ushort*)row)[index] = BFloat16.RoundBits(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => BitConverter.UInt32BitsToSingle((uint)BFloat16.RoundBits(value) << 16);
}

/// <summary>fp32 rows.</summary>
internal readonly unsafe struct F32Element : IRowElement
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(byte* row, int index) => ((float*)row)[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(byte* row, int index, float value) => ((float*)row)[index] = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => value;
}
