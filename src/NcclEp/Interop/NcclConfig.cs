using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// ncclConfig_t as of NCCL 2.28 (ncclConfig_v22800, 80 bytes). NCCL copies min(size, its own size) bytes and
/// checks the magic, so an older or newer library reads the fields it knows. Start from <see cref="CreateDefault"/>
/// (the NCCL_CONFIG_INITIALIZER): every field left "undefined" keeps NCCL's default.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NcclConfig
{
    /// <summary>NCCL_CONFIG_UNDEF_INT.</summary>
    public const int Undefined = int.MinValue;

    public nuint Size;
    public uint Magic;
    public uint Version;
    public int Blocking;
    public int CgaClusterSize;
    public int MinCTAs;
    public int MaxCTAs;
    public nint NetName;
    public int SplitShare;
    public int TrafficClass;
    public nint CommName;
    public int CollnetEnable;
    public int CTAPolicy;
    public int ShrinkShare;
    public int NvlsCTAs;
    public int NChannelsPerNetPeer;
    public int NvlinkCentricSched;

    /// <summary>NCCL_CONFIG_INITIALIZER for the 2.28 layout.</summary>
    public static unsafe NcclConfig CreateDefault() => new()
    {
        Size = (nuint)sizeof(NcclConfig),
        Magic = 0xcafebeef,
        Version = 22800,
        Blocking = Undefined,
        CgaClusterSize = Undefined,
        MinCTAs = Undefined,
        MaxCTAs = Undefined,
        NetName = 0,
        SplitShare = Undefined,
        TrafficClass = Undefined,
        CommName = 0,
        CollnetEnable = Undefined,
        CTAPolicy = Undefined,
        ShrinkShare = Undefined,
        NvlsCTAs = Undefined,
        NChannelsPerNetPeer = Undefined,
        NvlinkCentricSched = Undefined,
    };
}
