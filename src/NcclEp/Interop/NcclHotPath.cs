using System.Runtime.CompilerServices;

namespace NcclEp.Interop;

/// <summary>
/// Data-path NCCL calls (the all-to-all baseline, barriers): straight calls through the cached function
/// pointers, no stub, nothing allocated. Each returns the raw status for <see cref="Check.Nccl"/>.
/// </summary>
internal static unsafe class NcclHotPath
{
    /// <summary>ncclGroupStart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NcclResult GroupStart() => Nccl.Api.GroupStart();

    /// <summary>ncclGroupEnd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NcclResult GroupEnd() => Nccl.Api.GroupEnd();

    /// <summary>ncclSend of <paramref name="count"/> elements to <paramref name="peer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NcclResult Send(nint buffer, nuint count, NcclDataType type, int peer, nint comm, nint stream) =>
        Nccl.Api.Send(buffer, count, type, peer, comm, stream);

    /// <summary>ncclRecv of <paramref name="count"/> elements from <paramref name="peer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NcclResult Recv(nint buffer, nuint count, NcclDataType type, int peer, nint comm, nint stream) =>
        Nccl.Api.Recv(buffer, count, type, peer, comm, stream);

    /// <summary>ncclAllReduce (in place when the two buffers are equal).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NcclResult AllReduce(nint send, nint receive, nuint count, NcclDataType type, NcclRedOp op, nint comm, nint stream) =>
        Nccl.Api.AllReduce(send, receive, count, type, op, comm, stream);
}
