using System;
using System.Runtime.CompilerServices;

namespace NcclEp;

/// <summary>
/// Descriptor checks shared by every launch stub. Each names the argument it rejects; all run before
/// anything is launched, so a rejected call writes nothing.
/// </summary>
internal static class TensorChecks
{
    /// <summary>Row tensors must be 16-byte aligned (the kernels move 16-byte vectors).</summary>
    public const int RowAlignment = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Common(in EpTensor t, string name, EpDataType type, int rank, int alignment)
    {
        if (t.Data == 0 && t.ElementCount != 0) ThrowHelper.Null(name);
        if (t.DataType != type)
            ThrowHelper.Argument(name, $"{name} has element type {t.DataType}; this call needs {type}.");
        if (t.DimensionCount != rank)
            ThrowHelper.Argument(name, $"{name} has {t.DimensionCount} dimensions ({t}); this call needs {rank}.");
        if (t.Stride(rank - 1) != 1 && t.Dim(rank - 1) > 1)
            ThrowHelper.Argument(name, $"{name}: the last dimension must be contiguous (stride 1), not stride {t.Stride(rank - 1)}.");
        if ((t.Data & (alignment - 1)) != 0)
            ThrowHelper.Argument(name, $"{name}: data pointer 0x{t.Data:x} is not {alignment}-byte aligned.");
        int size = type.SizeInBytes();
        for (int d = 0; d < rank - 1; d++)
        {
            if (t.Stride(d) * size % alignment != 0)
                ThrowHelper.Argument(name, $"{name}: stride of dimension {d} ({t.Stride(d)} elements) is not a multiple of {alignment} bytes.");
        }
    }

    /// <summary>
    /// The scales tensor of an FP8 dispatch: element type, rank, rows contiguous, 4-byte aligned, and strides under which
    /// no two entries share memory (sorted by stride, each at least the extent of the dimensions inside it).
    /// </summary>
    public static void Scales(in EpTensor t, string name, EpDataType type, int rank)
    {
        Common(t, name, type, rank, type.SizeInBytes());
        Span<long> strides = stackalloc long[EpTensor.MaxDimensions];
        Span<long> dims = stackalloc long[EpTensor.MaxDimensions];
        int n = 0;
        for (int d = 0; d < rank; d++)
        {
            if (t.Dim(d) <= 1) continue;
            int at = n++;
            while (at > 0 && strides[at - 1] > t.Stride(d))
            {
                strides[at] = strides[at - 1];
                dims[at] = dims[at - 1];
                at--;
            }
            strides[at] = t.Stride(d);
            dims[at] = t.Dim(d);
        }
        long extent = 1;
        for (int i = 0; i < n; i++)
        {
            if (strides[i] < extent)
            {
                ThrowHelper.Argument(name, $"{name} ({t}) has strides {StridesText(t)} under which entries overlap: " +
                    $"a stride of {strides[i]} elements is less than the {extent} elements of the dimensions inside it.");
            }
            extent = strides[i] * dims[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dim(in EpTensor t, string name, int dim, long expected, string meaning)
    {
        if (t.Dim(dim) != expected)
            ThrowHelper.Argument(name, $"{name} has shape {t}; dimension {dim} ({meaning}) must be {expected}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void DimAtLeast(in EpTensor t, string name, int dim, long minimum, string meaning)
    {
        if (t.Dim(dim) < minimum)
            ThrowHelper.Argument(name, $"{name} has shape {t}; dimension {dim} ({meaning}) must be at least {minimum}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tokens(in EpTensor t, string name, long maxTokens)
    {
        if (t.Dim(0) > maxTokens)
            ThrowHelper.OutOfRange(name, t.Dim(0), $"tokens (dimension 0 of {t}) exceed MaxTokensPerRank = {maxTokens}");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NoOverlap(in EpTensor a, string nameA, in EpTensor b, string nameB)
    {
        long aBytes = Extent(a), bBytes = Extent(b);
        if (aBytes == 0 || bBytes == 0) return;
        if (a.Data < b.Data + (nint)bBytes && b.Data < a.Data + (nint)aBytes)
            ThrowHelper.Argument(nameB, $"{nameB} overlaps {nameA}; the input and output of one call must be separate memory.");
    }

    private static string StridesText(in EpTensor t) => t.DimensionCount switch
    {
        1 => $"({t.Stride(0)})",
        2 => $"({t.Stride(0)}, {t.Stride(1)})",
        _ => $"({t.Stride(0)}, {t.Stride(1)}, {t.Stride(2)})",
    };

    private static long Extent(in EpTensor t)
    {
        if (t.ElementCount == 0) return 0;
        long last = 0;
        for (int d = 0; d < t.DimensionCount; d++) last += (t.Dim(d) - 1) * t.Stride(d);
        return (last + 1) * t.DataType.SizeInBytes();
    }
}
