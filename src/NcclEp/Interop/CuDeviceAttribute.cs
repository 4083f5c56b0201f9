namespace NcclEp.Interop;

/// <summary>The CUdevice_attribute values the backend reads (numbers as in CUDA 13's cuda.h; the enum is append-only).</summary>
internal enum CuDeviceAttribute
{
    MaxThreadsPerBlock = 1,
    MaxSharedMemoryPerBlock = 8,
    WarpSize = 10,
    ClockRate = 13,
    MultiprocessorCount = 16,
    CanMapHostMemory = 19,
    PciBusId = 33,
    PciDeviceId = 34,
    MemoryClockRate = 36,
    GlobalMemoryBusWidth = 37,
    L2CacheSize = 38,
    MaxThreadsPerMultiprocessor = 39,
    UnifiedAddressing = 41,
    PciDomainId = 50,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
    MaxSharedMemoryPerMultiprocessor = 81,
    CanUseHostPointerForRegisteredMem = 91,
    CooperativeLaunch = 95,
    MaxSharedMemoryPerBlockOptin = 97,
    VirtualMemoryManagementSupported = 102,
    MaxBlocksPerMultiprocessor = 106,
    MemoryPoolsSupported = 115,
    GpuDirectRdmaSupported = 116,
    HandleTypeFabricSupported = 128,
    MulticastSupported = 132,
}
