using System;

namespace NcclEp;

/// <summary>One kernel a specialization compiles (listed by the generated <c>EpKernelTable</c>).</summary>
/// <param name="Op">The operation whose stub launches it.</param>
/// <param name="EntryPoint">CUDA entry point: <c>ncclep_update</c>, <c>ncclep_dispatch</c> or <c>ncclep_combine</c>.</param>
/// <param name="Defines">Compile-time defines of the (mode, layout): <c>-DNCCLEP_MODE=m -DNCCLEP_LAYOUT=l</c>
/// (the enums' numeric values). Hidden, top-k and element type are added by the backend.</param>
internal readonly record struct EpKernelSpec(EpOperation Op, string EntryPoint, string Defines);
