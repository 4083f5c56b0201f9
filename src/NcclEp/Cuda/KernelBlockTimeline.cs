using System;
using System.Runtime.InteropServices;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Reads the block timeline of kernels built with NCCLEP_BLOCK_TIMELINE (ep_common.cuh, a debugging aid): thread 0 of
/// every block stores {start, end, sm &lt;&lt; 32 | seq &lt;&lt; 8 | role} (globaltimer, ns) into the module global
/// <c>ncclep_block_timeline</c>, laid out [rank][slot][block][3 words]. Shared by the GPU test program (after a failed
/// case) and the bench (<c>--timeline</c>); the shipped kernels have no such global and <see cref="IsBuiltIn"/> says so.
/// </summary>
internal static unsafe partial class KernelBlockTimeline
{
    public const string Symbol = "ncclep_block_timeline";

    /// <summary>As TIMELINE_RANKS, TIMELINE_SLOTS and TIMELINE_BLOCKS in ep_common.cuh; a record is <see cref="Words"/> words.</summary>
    public const int Ranks = 8, Slots = 6, Blocks = 256, Words = 3;

    /// <summary>The slots in ep_common.cuh's order: the dispatch and combine of odd and even sequence numbers alternate.</summary>
    public static readonly string[] SlotNames = ["update", "offsets", "dispatch odd", "combine odd", "dispatch even", "combine even"];

    /// <summary>Words of one rank's records.</summary>
    public const int RankWords = Slots * Blocks * Words;

    /// <summary>Whether the kernels of <paramref name="group"/>'s rank define the timeline (a Cuda group only).</summary>
    public static bool IsBuiltIn(EpGroup group) => Find(Backend(group)) != 0;

    /// <summary>Zeroes this rank's records (synchronised); nothing for a rank the timeline has no room for.</summary>
    public static void Clear(EpGroup group)
    {
        CudaRankBackend backend = Backend(group);
        nint pointer = Find(backend);
        if (pointer == 0 || group.Rank >= Ranks) return;
        using CudaContextScope scope = backend.Device.MakeCurrent();
        nint stream = backend.Device.TransferStream;
        Check.Cu(CudaDriver.cuMemsetD8Async(RankPointer(pointer, group.Rank), 0, RankBytes, stream), "cuMemsetD8Async (block timeline)");
        Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (block timeline)");
    }

    /// <summary>
    /// This rank's records, decoded (blocks that never started are left out; empty for a rank the timeline has no room
    /// for). False, with <paramref name="failure"/> set, where the driver refuses the copy (a failed context). The caller
    /// waits for the kernels first.
    /// </summary>
    public static bool TryRead(EpGroup group, out BlockRecord[] records, out CuResult failure)
    {
        records = [];
        failure = CuResult.Success;
        CudaRankBackend backend = Backend(group);
        nint pointer = Find(backend);
        if (pointer == 0 || group.Rank >= Ranks) return true;
        var words = new ulong[RankWords];
        using CudaContextScope scope = backend.Device.MakeCurrent();
        nint stream = backend.Device.TransferStream;
        fixed (ulong* p = words)
        {
            failure = CudaDriver.cuMemcpyDtoHAsync_v2(p, RankPointer(pointer, group.Rank), RankBytes, stream);
            if (failure == CuResult.Success) failure = CudaDriver.cuStreamSynchronize(stream);
        }
        if (failure != CuResult.Success) return false;
        records = Decode(words, group.Rank);
        return true;
    }

    /// <summary>The records of one rank's words ([slot][block][3]), in slot then block order; a zero start is a block that never started.</summary>
    public static BlockRecord[] Decode(ReadOnlySpan<ulong> rankWords, int rank)
    {
        if (rankWords.Length != RankWords) throw new ArgumentException($"One rank's timeline is {RankWords} words, not {rankWords.Length}.", nameof(rankWords));
        int count = 0;
        for (int i = 0; i < rankWords.Length; i += Words) if (rankWords[i] != 0) count++;
        var records = new BlockRecord[count];
        int n = 0;
        for (int slot = 0; slot < Slots; slot++)
        {
            for (int block = 0; block < Blocks; block++)
            {
                int i = ((slot * Blocks) + block) * Words;
                if (rankWords[i] == 0) continue;
                ulong tag = rankWords[i + 2];
                records[n++] = new BlockRecord(rank, slot, block, rankWords[i], rankWords[i + 1],
                    Sm: (int)(tag >> 32), Seq: (int)((tag >> 8) & 0xFFFFFF), Role: (int)(tag & 0xFF));
            }
        }
        return records;
    }

    private const nuint RankBytes = RankWords * sizeof(ulong);

    private static nint RankPointer(nint global, int rank) => global + (rank * RankWords * sizeof(ulong));

    private static CudaRankBackend Backend(EpGroup group) =>
        group.RankBackend as CudaRankBackend ?? throw new ArgumentException("The block timeline is on the Cuda backend only.", nameof(group));

    /// <summary>The address of the timeline global of the rank's kernel module, or 0 when its kernels define none.</summary>
    private static nint Find(CudaRankBackend backend)
    {
        using CudaContextScope scope = backend.Device.MakeCurrent();
        Check.Cu(CudaDriver.cuFuncGetModule(out nint module, backend.Kernels.Update), "cuFuncGetModule");
        CuResult status = CudaDriver.cuModuleGetGlobal_v2(out nint pointer, out nuint bytes, module, Symbol);
        if (status == CuResult.ErrorNotFound) return 0;
        Check.Cu(status, $"cuModuleGetGlobal_v2({Symbol})");
        if ((long)bytes < (long)Ranks * RankWords * sizeof(ulong))
            throw new InvalidOperationException($"{Symbol} is {bytes} bytes, smaller than {Ranks} ranks of {RankWords} words: ep_common.cuh's TIMELINE_* sizes and {nameof(KernelBlockTimeline)} disagree.");
        return pointer;
    }
}

/// <summary>
/// One block's record of the block timeline: its rank, slot (<see cref="KernelBlockTimeline.SlotNames"/>) and block
/// index, when it started and ended (globaltimer ns; an end of 0: it never reached the end), its SM, the operation's
/// sequence number (0 for the update kernels) and its role (0 both halves, 1 sending, 2 receiving or reducing).
/// </summary>
internal readonly record struct BlockRecord(int Rank, int Slot, int Block, ulong StartNs, ulong EndNs, int Sm, int Seq, int Role)
{
    /// <summary>Whether the block reached its end (a block that returned early, or is still running, did not).</summary>
    public bool Ended => EndNs != 0;
}
