using System;
using System.Runtime.InteropServices;

namespace NcclEp.Host;

/// <summary>"Device" memory of the Host backend: 128-byte aligned native memory.</summary>
internal sealed unsafe class HostBuffer : EpBuffer
{
    public HostBuffer(long bytes) : base((nint)NativeMemory.AlignedAlloc((nuint)bytes, 128), bytes)
    {
        GC.AddMemoryPressure(bytes);
    }

    protected override void CopyIn(ReadOnlySpan<byte> source, long byteOffset) =>
        source.CopyTo(new Span<byte>((byte*)Pointer + byteOffset, source.Length));

    protected override void CopyOut(Span<byte> destination, long byteOffset) =>
        new ReadOnlySpan<byte>((byte*)Pointer + byteOffset, destination.Length).CopyTo(destination);

    protected override void FillBytes(byte value) => NativeMemory.Fill((void*)Pointer, (nuint)Bytes, value);

    protected override void Free()
    {
        NativeMemory.AlignedFree((void*)Pointer);
        GC.RemoveMemoryPressure(Bytes);
    }
}
