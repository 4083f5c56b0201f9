using System;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// The tests' stand-in expert on the Host backend: <c>destination = 2 · source</c> element by element over a whole
/// layout buffer (a C# loop; rows outside the layout's counts are scaled too and never read). Allocates nothing.
/// </summary>
internal readonly unsafe struct ScaleRowsWork(nint source, nint destination, long elements, EpDataType type) : IEpStepWork
{
    public void Execute(EpStream stream)
    {
        if (type == EpDataType.BFloat16)
        {
            var s = (ushort*)source;
            var d = (ushort*)destination;
            for (long i = 0; i < elements; i++) d[i] = (ushort)Numerics.RoundToBf16Bits(Numerics.Bf16ToFloat(s[i]) * 2f);
        }
        else
        {
            var s = (float*)source;
            var d = (float*)destination;
            for (long i = 0; i < elements; i++) d[i] = s[i] * 2f;
        }
    }
}
