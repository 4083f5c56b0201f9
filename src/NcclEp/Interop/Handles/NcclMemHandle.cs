using System;
using Microsoft.Win32.SafeHandles;

namespace NcclEp.Interop;

/// <summary>
/// Device memory from ncclMemAlloc (cuMem/VMM, 4 KiB-aligned, exportable to peers), the kind a window can be
/// registered on; freed with ncclMemFree (which finds the device from the pointer itself).
/// </summary>
internal sealed class NcclMemHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private NcclMemHandle(nuint bytes)
        : base(ownsHandle: true)
    {
        Bytes = bytes;
    }

    /// <summary>The device address of the first byte.</summary>
    public nint Pointer => handle;

    /// <summary>The size asked for.</summary>
    public nuint Bytes { get; }

    /// <summary>Allocates <paramref name="bytes"/> (more than 0) on <paramref name="context"/>'s device.</summary>
    public static NcclMemHandle Allocate(CudaPrimaryContext context, nuint bytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfZero(bytes);
        var memory = new NcclMemHandle(bytes);
        try
        {
            using (context.MakeCurrent())
            {
                Check.Nccl(Nccl.ncclMemAlloc(out nint pointer, bytes), "ncclMemAlloc");
                memory.SetHandle(pointer);
            }

            return memory;
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    protected override bool ReleaseHandle() => NativeRelease.Accept(Nccl.ncclMemFree(handle), "ncclMemFree");
}
