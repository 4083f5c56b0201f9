using System;

namespace NcclEp.Interop;

/// <summary>Page-locked host memory from cuMemAllocHost_v2 (fast async copies), freed with cuMemFreeHost.</summary>
internal sealed unsafe class PinnedHostMemoryHandle : CudaContextBoundHandle
{
    private PinnedHostMemoryHandle(CudaPrimaryContext context, nuint bytes)
        : base(context)
    {
        Bytes = bytes;
    }

    /// <summary>The host address of the first byte.</summary>
    public nint Pointer => handle;

    /// <summary>The size asked for.</summary>
    public nuint Bytes { get; }

    protected override string DestroyCall => "cuMemFreeHost";

    /// <summary>Allocates <paramref name="bytes"/> (more than 0) of pinned host memory.</summary>
    public static PinnedHostMemoryHandle Allocate(CudaPrimaryContext context, nuint bytes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bytes);
        var memory = new PinnedHostMemoryHandle(context, bytes);
        try
        {
            using (context.MakeCurrent())
            {
                memory.SetCreated(CudaDriver.cuMemAllocHost_v2(out nint pointer, bytes), pointer, "cuMemAllocHost_v2");
            }

            return memory;
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>The memory as a span of <typeparamref name="T"/>; only while this handle is open.</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        nuint count = Bytes / (nuint)sizeof(T);
        return new Span<T>((void*)handle, checked((int)count));
    }

    protected override CuResult Destroy(nint value) => CudaDriver.cuMemFreeHost(value);
}
