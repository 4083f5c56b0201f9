using System;
using System.Runtime.InteropServices;

namespace NcclEp.Host;

/// <summary>
/// "Device" memory of the Host backend: 128-byte aligned native memory, or (<see cref="Borrow"/>) native memory the
/// caller owns, which this wrapper never frees.
/// </summary>
internal sealed unsafe class HostBuffer : EpBuffer
{
    private readonly bool _owned;

    public HostBuffer(long bytes) : base((nint)NativeMemory.AlignedAlloc((nuint)bytes, 128), bytes)
    {
        _owned = true;
        GC.AddMemoryPressure(bytes);
    }

    private HostBuffer(nint pointer, long bytes) : base(pointer, bytes) => GC.SuppressFinalize(this);

    /// <summary>A view of <paramref name="bytes"/> bytes of the caller's memory at <paramref name="pointer"/>; disposing it frees nothing.</summary>
    public static HostBuffer Borrow(nint pointer, long bytes) => new(pointer, bytes);

    private protected override void CopyIn(ReadOnlySpan<byte> source, long byteOffset) =>
        source.CopyTo(new Span<byte>((byte*)Pointer + byteOffset, source.Length));

    private protected override void CopyOut(Span<byte> destination, long byteOffset) =>
        new ReadOnlySpan<byte>((byte*)Pointer + byteOffset, destination.Length).CopyTo(destination);

    private protected override void FillBytes(byte value) => NativeMemory.Fill((void*)Pointer, (nuint)Bytes, value);

    private protected override void Free()
    {
        if (!_owned) return;
        NativeMemory.AlignedFree((void*)Pointer);
        GC.RemoveMemoryPressure(Bytes);
    }
}
