using System;
using System.Runtime.CompilerServices;

namespace NcclEp;

/// <summary>Checks the generated views run when they are built (never on the indexers).</summary>
internal static class EpViewChecks
{
    /// <summary>The element type a token view of <typeparamref name="T"/> reads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static EpDataType TokenType<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(BFloat16)) return EpDataType.BFloat16;
        if (typeof(T) == typeof(float)) return EpDataType.Float32;
        if (typeof(T) == typeof(Float8E4M3)) return EpDataType.Float8E4M3;
        ThrowHelper.Argument(nameof(T), $"Token views hold BFloat16, float or Float8E4M3 elements, not {typeof(T).Name}.");
        return default;
    }

    /// <summary>Element type, rank, contiguous last dimension, pointer, and lengths that fit an int.</summary>
    public static void Check(in EpTensor t, string name, EpDataType type, int rank)
    {
        if (t.DataType != type)
            ThrowHelper.Argument(name, $"{name} has element type {t.DataType}; this view reads {type}.");
        if (t.DimensionCount != rank)
            ThrowHelper.Argument(name, $"{name} has {t.DimensionCount} dimensions ({t}); this view needs {rank}.");
        if (t.Stride(rank - 1) != 1 && t.Dim(rank - 1) > 1)
            ThrowHelper.Argument(name, $"{name}: the last dimension must be contiguous (stride 1), not stride {t.Stride(rank - 1)}.");
        for (int d = 0; d < rank; d++)
        {
            if (t.Dim(d) > int.MaxValue)
                ThrowHelper.OutOfRange(name, t.Dim(d), $"(dimension {d} of {t}) does not fit a view index");
        }
        if (t.ElementCount == 0) return;
        if (t.Data == 0) ThrowHelper.Null(name);
        if (t.Data % type.SizeInBytes() != 0)
            ThrowHelper.Argument(name, $"{name}: data pointer 0x{t.Data:x} is not aligned to its {type.SizeInBytes()}-byte elements.");
    }

    /// <summary>The last dimension must be exactly one record of <paramref name="width"/> scalars.</summary>
    public static void Width(in EpTensor t, string name, int width)
    {
        if (t.Dim(t.DimensionCount - 1) != width)
            ThrowHelper.Argument(name, $"{name} has shape {t}; its last dimension must be {width} (one record).");
    }

    /// <summary>Lengths of a view over a span: none negative, product within the span.</summary>
    public static void Lengths(int spanLength, string name, int d0) => Lengths(spanLength, name, d0, 1, 1);

    /// <inheritdoc cref="Lengths(int, string, int)"/>
    public static void Lengths(int spanLength, string name, int d0, int d1) => Lengths(spanLength, name, d0, d1, 1);

    /// <inheritdoc cref="Lengths(int, string, int)"/>
    public static void Lengths(int spanLength, string name, int d0, int d1, int d2)
    {
        if ((d0 | d1 | d2) < 0)
            ThrowHelper.Argument(name, $"View lengths must not be negative ({d0}, {d1}, {d2}).");
        long needed = (long)d0 * d1 * d2;
        if (needed > spanLength)
            ThrowHelper.Argument(name, $"{name} has {spanLength} elements; the view needs {needed}.");
    }
}
