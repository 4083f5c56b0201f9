namespace NcclEp.Interop;

/// <summary>Device memory from cuMemAlloc_v2, freed with cuMemFree_v2 under its own context.</summary>
internal sealed class DeviceMemoryHandle : CudaContextBoundHandle
{
    private DeviceMemoryHandle(CudaPrimaryContext context, nuint bytes)
        : base(context)
    {
        Bytes = bytes;
    }

    /// <summary>The device address of the first byte.</summary>
    public nint Pointer => handle;

    /// <summary>The size asked for.</summary>
    public nuint Bytes { get; }

    protected override string DestroyCall => "cuMemFree_v2";

    /// <summary>Allocates <paramref name="bytes"/> (more than 0) of device memory in <paramref name="context"/>.</summary>
    public static DeviceMemoryHandle Allocate(CudaPrimaryContext context, nuint bytes)
    {
        System.ArgumentOutOfRangeException.ThrowIfZero(bytes);
        var memory = new DeviceMemoryHandle(context, bytes);
        try
        {
            using (context.MakeCurrent())
            {
                memory.SetCreated(CudaDriver.cuMemAlloc_v2(out nint pointer, bytes), pointer, "cuMemAlloc_v2");
            }

            return memory;
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    protected override CuResult Destroy(nint value) => CudaDriver.cuMemFree_v2(value);
}
