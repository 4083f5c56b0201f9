using System;
using System.Runtime.InteropServices;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// Device memory owned by the caller (native memory on the Host backend), allocated on the control path
/// through <see cref="EpGroup.AllocateBuffer"/>. Descriptors (<see cref="EpTensor"/>) point into it.
/// </summary>
public abstract class EpBuffer : IDisposable
{
    private bool _disposed;

    /// <summary>Creates the wrapper for memory at <paramref name="pointer"/>.</summary>
    private protected EpBuffer(nint pointer, long bytes)
    {
        Pointer = pointer;
        Bytes = bytes;
    }

    /// <summary>Device address of the first byte.</summary>
    public nint Pointer { get; }

    /// <summary>Size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Whether <see cref="Dispose()"/> ran.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Copies host data into the buffer at <paramref name="byteOffset"/> (control path: synchronous).</summary>
    public void Upload<T>(ReadOnlySpan<T> source, long byteOffset = 0) where T : unmanaged
    {
        EpCaptureGuard.ThrowIfCapturing("EpBuffer.Upload");
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(source);
        if (!InRange(byteOffset, bytes.Length)) ThrowOutside(byteOffset, bytes.Length, nameof(source), "the source");
        CopyIn(bytes, byteOffset);
    }

    /// <summary>Copies buffer bytes at <paramref name="byteOffset"/> into host memory (control path: synchronous).</summary>
    public void Download<T>(Span<T> destination, long byteOffset = 0) where T : unmanaged
    {
        EpCaptureGuard.ThrowIfCapturing("EpBuffer.Download");
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        if (!InRange(byteOffset, bytes.Length)) ThrowOutside(byteOffset, bytes.Length, nameof(destination), "the destination");
        CopyOut(bytes, byteOffset);
    }

    /// <summary>Sets every byte to <paramref name="value"/> (control path: synchronous).</summary>
    public void Fill(byte value)
    {
        EpCaptureGuard.ThrowIfCapturing("EpBuffer.Fill");
        ObjectDisposedException.ThrowIf(_disposed, this);
        FillBytes(value);
    }

    /// <summary>A contiguous 2-D descriptor over the buffer from <paramref name="byteOffset"/>.</summary>
    public EpTensor As2D(EpDataType type, long rows, long cols, long byteOffset = 0)
    {
        long length = rows * cols * type.SizeInBytes();
        if (!InRange(byteOffset, length)) ThrowOutside(byteOffset, length, nameof(rows), $"a [{rows}, {cols}] {type} tensor");
        return EpTensor.Create2D(Pointer + (nint)byteOffset, type, rows, cols);
    }

    /// <summary>A contiguous 3-D descriptor over the buffer from <paramref name="byteOffset"/>.</summary>
    public EpTensor As3D(EpDataType type, long d0, long d1, long d2, long byteOffset = 0)
    {
        long length = d0 * d1 * d2 * type.SizeInBytes();
        if (!InRange(byteOffset, length)) ThrowOutside(byteOffset, length, nameof(d0), $"a [{d0}, {d1}, {d2}] {type} tensor");
        return EpTensor.Create3D(Pointer + (nint)byteOffset, type, d0, d1, d2);
    }

    /// <summary>Backend copy host → device.</summary>
    private protected abstract void CopyIn(ReadOnlySpan<byte> source, long byteOffset);

    /// <summary>Backend copy device → host.</summary>
    private protected abstract void CopyOut(Span<byte> destination, long byteOffset);

    /// <summary>Backend memset.</summary>
    private protected abstract void FillBytes(byte value);

    /// <summary>Releases the memory.</summary>
    private protected abstract void Free();

    /// <summary>Whether <paramref name="length"/> bytes from <paramref name="byteOffset"/> lie inside the live buffer.</summary>
    private bool InRange(long byteOffset, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return byteOffset >= 0 && length >= 0 && byteOffset + length <= Bytes;
    }

    /// <summary>
    /// The request (<paramref name="what"/>, <paramref name="length"/> bytes from <paramref name="byteOffset"/>) does not
    /// fit. The message names the offset only when the caller gave one: at offset 0 the size is the problem.
    /// </summary>
    private void ThrowOutside(long byteOffset, long length, string paramName, string what)
    {
        string sentence = char.ToUpperInvariant(what[0]) + what[1..];
        if (byteOffset < 0) ThrowHelper.OutOfRange(nameof(byteOffset), byteOffset, "must not be negative");
        if (length < 0) ThrowHelper.Argument(paramName, $"{sentence} has a negative size.");
        if (byteOffset == 0) ThrowHelper.Argument(paramName, $"{sentence} needs {length} bytes; the buffer holds {Bytes}.");
        ThrowHelper.OutOfRange(nameof(byteOffset), byteOffset, $"with {what} of {length} bytes runs past the buffer's {Bytes} bytes");
    }

    /// <summary>Frees the memory.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory once.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        Free();
    }

    /// <summary>Frees memory a caller forgot to dispose.</summary>
    ~EpBuffer() => Dispose(false);
}
