using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// ncclUniqueId: 128 opaque bytes made by one rank with ncclGetUniqueId and handed to every other rank
/// (by whatever channel the host program has) before ncclCommInitRank. Passed by value to NCCL.
/// </summary>
[InlineArray(Size)]
internal struct NcclUniqueId
{
    /// <summary>NCCL_UNIQUE_ID_BYTES.</summary>
    public const int Size = 128;

    private byte _element0;

    /// <summary>Rebuilds an id from the bytes another rank sent.</summary>
    public static NcclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"An ncclUniqueId is {Size} bytes; got {bytes.Length}.", nameof(bytes));
        }

        NcclUniqueId id = default;
        bytes.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<NcclUniqueId, byte>(ref id), Size));
        return id;
    }

    /// <summary>The bytes to send to the other ranks.</summary>
    public readonly byte[] ToArray() =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<NcclUniqueId, byte>(ref Unsafe.AsRef(in this)), Size).ToArray();
}
