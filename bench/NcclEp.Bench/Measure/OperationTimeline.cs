using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Cuda;

namespace NcclEp.Bench;

/// <summary>
/// One rank's block timeline of one update + dispatch + combine (<c>--timeline</c>), summarised per kernel and role.
/// Every time is in µs after the update kernel's first block started (the operation's first block where no update ran):
/// ranks on different GPUs read their own globaltimer, so times compare within a rank only.
/// </summary>
internal sealed record OperationTimeline(int Rank, IReadOnlyList<KernelTimeline> Kernels, IReadOnlyList<KernelGap> Gaps)
{
    /// <summary>The kernels of one operation in launch order (ep_common.cuh's slots, both parities of dispatch and combine folded).</summary>
    public static readonly string[] KernelNames = ["update", "offsets", "dispatch", "combine"];

    /// <summary>The roles of a record (ep_common.cuh): the whole kernel, its sending blocks, its receiving or reducing blocks.</summary>
    public static readonly string[] RoleNames = ["both", "send", "receive"];

    /// <summary>
    /// Summarises <paramref name="records"/> (one rank's, read after the operation; blocks that never started are not in
    /// it). A kernel whose records sit in both parity slots (two operations since the records were cleared) is the one of
    /// the higher sequence number.
    /// </summary>
    public static OperationTimeline Of(int rank, IReadOnlyList<BlockRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) return new OperationTimeline(rank, [], []);
        ulong origin = records.Where(r => KernelOf(r.Slot) == 0).Select(r => r.StartNs).DefaultIfEmpty(records.Min(r => r.StartNs)).Min();
        var kernels = new List<KernelTimeline>();
        for (int k = 0; k < KernelNames.Length; k++)
        {
            List<BlockRecord> blocks = records.Where(r => KernelOf(r.Slot) == k).ToList();
            if (blocks.Count == 0) continue;
            int seq = blocks.Max(r => r.Seq);
            int slot = blocks.Where(r => r.Seq == seq).Min(r => r.Slot);
            blocks = blocks.Where(r => r.Slot == slot).ToList();
            kernels.Add(new KernelTimeline(KernelNames[k], seq, Us(blocks.Min(r => r.StartNs), origin), LastEnd(blocks, origin),
                blocks.GroupBy(r => r.Role).OrderBy(g => g.Key).Select(g => RoleTimeline.Of(RoleName(g.Key), g.ToList(), origin)).ToList()));
        }
        var gaps = new List<KernelGap>();
        for (int k = 1; k < kernels.Count; k++)
            gaps.Add(new KernelGap(kernels[k - 1].Name, kernels[k].Name, kernels[k].StartUs - kernels[k - 1].EndUs));
        return new OperationTimeline(rank, kernels, gaps);
    }

    /// <summary>The kernel (index into <see cref="KernelNames"/>) of a slot: update, offsets, then dispatch and combine of odd and even operations.</summary>
    public static int KernelOf(int slot) => slot switch
    {
        0 => 0,
        1 => 1,
        2 or 4 => 2,
        3 or 5 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(slot), slot, $"The block timeline has slots 0..{KernelBlockTimeline.Slots - 1}."),
    };

    private static string RoleName(int role) => role >= 0 && role < RoleNames.Length ? RoleNames[role] : $"role {role}";

    /// <summary>µs from <paramref name="origin"/> to <paramref name="ns"/> (globaltimer ns).</summary>
    internal static double Us(ulong ns, ulong origin) => ((double)ns - origin) / 1e3;

    /// <summary>The last end of the blocks that ended, or NaN where none did.</summary>
    internal static double LastEnd(IReadOnlyList<BlockRecord> blocks, ulong origin) =>
        blocks.Any(r => r.Ended) ? Us(blocks.Where(r => r.Ended).Max(r => r.EndNs), origin) : double.NaN;
}

/// <summary>One kernel of the operation: its sequence number (0 for the update kernels), first block start, last block end and roles.</summary>
internal sealed record KernelTimeline(string Name, int Seq, double StartUs, double EndUs, IReadOnlyList<RoleTimeline> Roles);

/// <summary>From the last block end of one kernel to the first block start of the next (negative where they overlap), µs.</summary>
internal readonly record struct KernelGap(string From, string To, double Us);

/// <summary>
/// The blocks of one role of one kernel: how many, the first and last start and end, the median block duration and the
/// slowest block (its index, SM and duration). Blocks that did not end (<see cref="NotEnded"/>) are left out of the ends
/// and durations; NaN where no block ended.
/// </summary>
internal sealed record RoleTimeline(
    string Role, int Blocks, int NotEnded, double FirstStartUs, double LastStartUs, double FirstEndUs, double LastEndUs,
    double MedianBlockUs, int SlowestBlock, int SlowestSm, double SlowestBlockUs)
{
    public static RoleTimeline Of(string role, IReadOnlyList<BlockRecord> blocks, ulong origin)
    {
        List<BlockRecord> ended = blocks.Where(r => r.Ended).ToList();
        double[] durations = ended.Select(r => Duration(r)).ToArray();
        BlockRecord? slowest = ended.Count == 0 ? null : ended.OrderByDescending(Duration).ThenBy(r => r.Block).First();
        return new RoleTimeline(role, blocks.Count, blocks.Count - ended.Count,
            OperationTimeline.Us(blocks.Min(r => r.StartNs), origin),
            OperationTimeline.Us(blocks.Max(r => r.StartNs), origin),
            ended.Count == 0 ? double.NaN : OperationTimeline.Us(ended.Min(r => r.EndNs), origin),
            OperationTimeline.LastEnd(blocks, origin),
            ended.Count == 0 ? double.NaN : PhaseStats.Of(durations).MedianUs,
            slowest?.Block ?? -1, slowest?.Sm ?? -1, slowest is { } s ? Duration(s) : double.NaN);
    }

    private static double Duration(BlockRecord r) => ((double)r.EndNs - r.StartNs) / 1e3;
}
