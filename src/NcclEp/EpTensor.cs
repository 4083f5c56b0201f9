using System;
using System.Runtime.CompilerServices;

namespace NcclEp;

/// <summary>
/// A descriptor of caller-owned memory: a device pointer (native memory on the Host backend), an element
/// type, and up to 3 dimensions with strides in elements. The library never allocates the memory a
/// descriptor points to; it only checks the descriptor against what an operation needs.
/// </summary>
/// <remarks>Row-major by default: the last dimension has stride 1, which the kernels require.</remarks>
public readonly struct EpTensor
{
    /// <summary>The most dimensions a descriptor holds.</summary>
    public const int MaxDimensions = 3;

    private readonly TensorExtents _shape;
    private readonly TensorExtents _strides;

    private EpTensor(nint data, EpDataType dataType, int rank, TensorExtents shape, TensorExtents strides)
    {
        Data = data;
        DataType = dataType;
        DimensionCount = rank;
        _shape = shape;
        _strides = strides;
    }

    /// <summary>Address of element [0, 0, 0].</summary>
    public nint Data { get; }

    /// <summary>Element type.</summary>
    public EpDataType DataType { get; }

    /// <summary>Number of dimensions, 1 to 3 (<see cref="Dim"/> and <see cref="Stride"/> of the others read 1 and 0).</summary>
    public int DimensionCount { get; }

    /// <summary>Length of dimension <paramref name="dim"/>.</summary>
    public long Dim(int dim) => (uint)dim < (uint)DimensionCount ? _shape[dim] : 1;

    /// <summary>Stride of dimension <paramref name="dim"/> in elements.</summary>
    public long Stride(int dim) => (uint)dim < (uint)DimensionCount ? _strides[dim] : 0;

    /// <summary>Elements the shape covers.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            for (int i = 0; i < DimensionCount; i++) n *= _shape[i];
            return n;
        }
    }

    /// <summary>Whether the strides are the row-major strides of the shape.</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = DimensionCount - 1; i >= 0; i--)
            {
                if (_shape[i] != 1 && _strides[i] != expected) return false;
                expected *= _shape[i];
            }
            return true;
        }
    }

    /// <summary>A contiguous 1-D descriptor.</summary>
    public static EpTensor Create1D(nint data, EpDataType type, long d0) =>
        Create(data, type, 1, new TensorExtents(d0, 0, 0), new TensorExtents(1, 0, 0));

    /// <summary>A contiguous 2-D (row-major) descriptor.</summary>
    public static EpTensor Create2D(nint data, EpDataType type, long d0, long d1) =>
        Create(data, type, 2, new TensorExtents(d0, d1, 0), new TensorExtents(d1, 1, 0));

    /// <summary>A contiguous 3-D (row-major) descriptor.</summary>
    public static EpTensor Create3D(nint data, EpDataType type, long d0, long d1, long d2) =>
        Create(data, type, 3, new TensorExtents(d0, d1, d2), new TensorExtents(d1 * d2, d2, 1));

    /// <summary>A 2-D descriptor with explicit strides (in elements): pitched rows, or a column of a wider tensor.</summary>
    public static EpTensor Create2D(nint data, EpDataType type, long d0, long d1, long stride0, long stride1 = 1) =>
        Create(data, type, 2, new TensorExtents(d0, d1, 0), new TensorExtents(stride0, stride1, 0));

    /// <summary>A 3-D descriptor with explicit strides (in elements).</summary>
    public static EpTensor Create3D(nint data, EpDataType type, long d0, long d1, long d2, long stride0, long stride1, long stride2 = 1) =>
        Create(data, type, 3, new TensorExtents(d0, d1, d2), new TensorExtents(stride0, stride1, stride2));

    private static EpTensor Create(nint data, EpDataType type, int rank, TensorExtents shape, TensorExtents strides)
    {
        for (int i = 0; i < rank; i++)
        {
            if (shape[i] < 0) ThrowHelper.OutOfRange(nameof(shape), shape[i], $"(dimension {i}) must not be negative");
            if (strides[i] < 0) ThrowHelper.OutOfRange(nameof(strides), strides[i], $"(dimension {i}) must not be negative");
        }
        return new EpTensor(data, type, rank, shape, strides);
    }

    /// <summary>Shape, for messages: e.g. <c>[128, 7168] BFloat16</c>.</summary>
    public override string ToString() => DimensionCount switch
    {
        1 => $"[{_shape[0]}] {DataType}",
        2 => $"[{_shape[0]}, {_shape[1]}] {DataType}",
        _ => $"[{_shape[0]}, {_shape[1]}, {_shape[2]}] {DataType}",
    };
}

/// <summary>Three extents stored inline, so a descriptor is a plain value with no array behind it.</summary>
[InlineArray(EpTensor.MaxDimensions)]
internal struct TensorExtents
{
    private long _element0;

    public TensorExtents(long a, long b, long c)
    {
        this[0] = a;
        this[1] = b;
        this[2] = c;
    }
}
