using System;
namespace NcclEp;

/// <summary>Which implementation runs a group.</summary>
public enum EpBackendKind
{
    /// <summary>Ranks are threads of one process, device memory is native memory, kernels are C#: the oracle.</summary>
    Host = 0,

    /// <summary>NVIDIA GPUs through NCCL windows and NVRTC-compiled kernels.</summary>
    Cuda = 1,
}
