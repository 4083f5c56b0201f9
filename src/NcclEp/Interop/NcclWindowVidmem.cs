using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// Host mirror of the first 32 bytes of NCCL 2.28.x's <c>struct ncclWindow_vidmem</c>
/// (src/include/nccl_device/impl/core__types.h), the device-memory object an <c>ncclWindow_t</c> points to.
/// The prefix is the same in 2.28.3, 2.28.7 and 2.28.9; 2.28.7 appended GIN fields after it, which we never
/// read. NCCL writes it once at registration (cudaMemcpyAsync + stream sync), so a plain cuMemcpyDtoH reads it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NcclWindowVidmem
{
    /// <summary>+0: host pointer to NCCL's private per-window record (not ours to read).</summary>
    public nint WinHost;

    /// <summary>+8: this window's first byte as mapped for LSA rank 0 in this process's flat VA range.</summary>
    public nint LsaFlatBase;

    /// <summary>+16: this rank's index in its LSA team.</summary>
    public int LsaRank;

    /// <summary>+20: this rank in the communicator.</summary>
    public int WorldRank;

    /// <summary>+24: distance between consecutive LSA ranks' copies, in units of 4 GiB.</summary>
    public uint Stride4G;

    /// <summary>+28: the window's offset in the multicast range, in units of 4 KiB.</summary>
    public uint McOffset4K;

    /// <summary>Bytes read from the device.</summary>
    public const int Size = 32;
}
