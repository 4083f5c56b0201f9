using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NcclEp.Backend;

/// <summary>How many items of <c>T</c> a tensor holds, and their 2-D shape (rows × last dimension).</summary>
internal readonly record struct TensorItems(int Count, int Rows, int Columns, bool PerRow)
{
    /// <summary>
    /// The items of <paramref name="tensor"/> read as <typeparamref name="T"/>: one per element when T is the element's
    /// type, one per last-dimension row when T is a struct of exactly that row (<see cref="EpSourceInfo"/>).
    /// </summary>
    public static TensorItems Of<T>(in EpTensor tensor, string paramName) where T : unmanaged
    {
        if (tensor.Data == 0) ThrowHelper.Null(paramName);
        int last = tensor.DimensionCount - 1;
        long elementBytes = tensor.DataType.SizeInBytes();
        bool perRow;
        if (IsElementType<T>(tensor.DataType))
        {
            perRow = false;
        }
        else if (IsRowRecord<T>(tensor, elementBytes))
        {
            perRow = true;
        }
        else
        {
            ThrowHelper.Argument(paramName,
                $"{tensor} cannot be read as {typeof(T).Name}: use {ElementTypeNames(tensor.DataType)}, or a struct of one whole " +
                $"last-dimension row ({tensor.Dim(last) * elementBytes} bytes, e.g. EpSourceInfo for ReceivedSourceInfo).");
            return default;
        }

        // The items' dimensions: the tensor's, less the last one when each item is a whole row.
        int itemDims = perRow ? tensor.DimensionCount - 1 : tensor.DimensionCount;
        long rows = 1, columns = itemDims == 0 ? 1 : tensor.Dim(itemDims - 1);
        for (int d = 0; d < itemDims - 1; d++) rows *= tensor.Dim(d);
        long count = rows * columns;
        if (count > Array.MaxLength)
            ThrowHelper.OutOfRange(paramName, count, $"items of {typeof(T).Name} exceed the largest array ({Array.MaxLength}); download a narrower tensor over part of the memory");
        return new TensorItems((int)count, (int)rows, (int)columns, perRow);
    }

    private static bool IsElementType<T>(EpDataType type) => type switch
    {
        EpDataType.Int32 => typeof(T) == typeof(int) || typeof(T) == typeof(uint),
        EpDataType.Float32 => typeof(T) == typeof(float),
        EpDataType.BFloat16 => typeof(T) == typeof(BFloat16) || typeof(T) == typeof(ushort),
        EpDataType.Float8E4M3 => typeof(T) == typeof(Float8E4M3) || typeof(T) == typeof(byte),
        EpDataType.PackedUE8M0 => typeof(T) == typeof(PackedUE8M0) || typeof(T) == typeof(uint),
        _ => false,
    };

    private static bool IsRowRecord<T>(in EpTensor tensor, long elementBytes) where T : unmanaged
    {
        if (typeof(T).IsPrimitive || typeof(T) == typeof(BFloat16) || typeof(T) == typeof(Half) || typeof(T) == typeof(Float8E4M3)
            || typeof(T) == typeof(PackedUE8M0)) return false;
        int last = tensor.DimensionCount - 1;
        bool rowContiguous = tensor.Stride(last) == 1 || tensor.Dim(last) == 1;
        return rowContiguous && Unsafe.SizeOf<T>() == tensor.Dim(last) * elementBytes;
    }

    private static string ElementTypeNames(EpDataType type) => type switch
    {
        EpDataType.Int32 => "int or uint",
        EpDataType.Float32 => "float",
        EpDataType.Float8E4M3 => "Float8E4M3 or byte",
        EpDataType.PackedUE8M0 => "PackedUE8M0 or uint",
        _ => "BFloat16 or ushort",
    };
}

/// <summary>Copies a tensor's elements, row-major, from device memory to the host through the rank's backend.</summary>
internal static unsafe class TensorDownload
{
    /// <summary>The most bytes handed to one backend copy (a span's length is an int).</summary>
    private const long MaxPiece = 1L << 30;

    public static void Copy<T>(IEpRankBackend backend, in EpTensor tensor, Span<T> destination) where T : unmanaged
    {
        long elementBytes = tensor.DataType.SizeInBytes();
        long total = tensor.ElementCount * elementBytes;
        if (total == 0) return;
        int rank = tensor.DimensionCount;
        fixed (T* pinned = destination)
        {
            byte* to = (byte*)pinned;
            if (tensor.IsContiguous)
            {
                CopyRun(backend, tensor.Data, to, total);
                return;
            }

            // One run per last-dimension row when it is contiguous, else per element.
            bool rowRuns = tensor.Stride(rank - 1) == 1 || tensor.Dim(rank - 1) == 1;
            int outerDims = rowRuns ? rank - 1 : rank;
            long runElements = rowRuns ? tensor.Dim(rank - 1) : 1;
            long runs = tensor.ElementCount / runElements;
            for (long run = 0; run < runs; run++)
            {
                long offset = 0, rest = run;
                for (int d = outerDims - 1; d >= 0; d--)
                {
                    long n = tensor.Dim(d);
                    offset += rest % n * tensor.Stride(d);
                    rest /= n;
                }
                CopyRun(backend, tensor.Data + (nint)(offset * elementBytes), to + (run * runElements * elementBytes), runElements * elementBytes);
            }
        }
    }

    private static void CopyRun(IEpRankBackend backend, nint source, byte* destination, long bytes)
    {
        for (long done = 0; done < bytes; done += MaxPiece)
        {
            int piece = (int)Math.Min(MaxPiece, bytes - done);
            backend.CopyToHost(source + (nint)done, new Span<byte>(destination + done, piece));
        }
    }
}
