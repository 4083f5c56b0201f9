using System;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Small mirrors of cuda.h (CUDA 13) enums and structs used by the bindings. Values are ABI, not ours to choose.

/// <summary>cuStreamCreate flags.</summary>
[Flags]
internal enum CuStreamFlags : uint
{
    Default = 0,
    NonBlocking = 1,
}

/// <summary>cuEventCreate flags.</summary>
[Flags]
internal enum CuEventFlags : uint
{
    Default = 0,
    BlockingSync = 1,
    DisableTiming = 2,
    Interprocess = 4,
}

/// <summary>CUstreamCaptureMode.</summary>
internal enum CuStreamCaptureMode
{
    Global = 0,
    ThreadLocal = 1,
    Relaxed = 2,
}

/// <summary>CUstreamCaptureStatus.</summary>
internal enum CuStreamCaptureStatus
{
    None = 0,
    Active = 1,
    Invalidated = 2,
}

/// <summary>CUfunction_attribute values we set or read.</summary>
internal enum CuFunctionAttribute
{
    MaxThreadsPerBlock = 0,
    SharedSizeBytes = 1,
    ConstSizeBytes = 2,
    LocalSizeBytes = 3,
    NumRegs = 4,
    PtxVersion = 5,
    BinaryVersion = 6,
    MaxDynamicSharedSizeBytes = 8,
    PreferredSharedMemoryCarveout = 9,
}

/// <summary>CUlimit values we read or set.</summary>
internal enum CuLimit
{
    StackSize = 0,
}

/// <summary>CUpointer_attribute values we query.</summary>
internal enum CuPointerAttribute
{
    Context = 1,
    MemoryType = 2,
    DevicePointer = 3,
    HostPointer = 4,
    DeviceOrdinal = 9,
    RangeStartAddress = 11,
    RangeSize = 12,
    Mapped = 13,
}

/// <summary>CUmemorytype (the value behind <see cref="CuPointerAttribute.MemoryType"/>); 0 is not a driver value.</summary>
internal enum CuMemoryType
{
    Unknown = 0,
    Host = 1,
    Device = 2,
    Array = 3,
    Unified = 4,
}

/// <summary>CUgraphInstantiate_flags.</summary>
[Flags]
internal enum CuGraphInstantiateFlags : ulong
{
    None = 0,
    AutoFreeOnLaunch = 1,
    Upload = 2,
    DeviceLaunch = 4,
    UseNodePriority = 8,
}

/// <summary>CUgraphExecUpdateResult.</summary>
internal enum CuGraphExecUpdateResult
{
    Success = 0,
    Error = 1,
    ErrorTopologyChanged = 2,
    ErrorNodeTypeChanged = 3,
    ErrorFunctionChanged = 4,
    ErrorParametersChanged = 5,
    ErrorNotSupported = 6,
    ErrorUnsupportedFunctionChange = 7,
    ErrorAttributesChanged = 8,
}

/// <summary>CUgraphExecUpdateResultInfo (cuGraphExecUpdate_v2): why an update was refused and at which node.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CuGraphExecUpdateResultInfo
{
    public CuGraphExecUpdateResult Result;
    public nint ErrorNode;
    public nint ErrorFromNode;
}

/// <summary>CUlaunchAttributeID values the launches set.</summary>
internal enum CuLaunchAttributeId
{
    /// <summary>CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION: the grid may start before the previous kernel in the stream ends.</summary>
    ProgrammaticStreamSerialization = 6,
}

/// <summary>
/// CUlaunchAttribute: the id, 4 bytes of padding, then a 64-byte union of which the launches use the first int
/// (programmaticStreamSerializationAllowed); 72 bytes in all.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct CuLaunchAttribute
{
    [FieldOffset(0)] public CuLaunchAttributeId Id;
    [FieldOffset(8)] public int Value;
}

/// <summary>CUlaunchConfig (cuLaunchKernelEx): grid, block, dynamic shared memory, stream and the attributes; 56 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CuLaunchConfig
{
    public uint GridDimX, GridDimY, GridDimZ;
    public uint BlockDimX, BlockDimY, BlockDimZ;
    public uint SharedMemBytes;
    public nint Stream;
    public CuLaunchAttribute* Attributes;
    public uint AttributeCount;
}
