using System;
using NcclEp;
using NcclEp.Cuda;

namespace NcclEp.Bench;

/// <summary>
/// <c>--timeline</c>: after the timed loop, one update + dispatch + combine queued back to back (no host sync between
/// them, as a decode step and the back-to-back figure run them; the combine adds what <see cref="RankState.ProbeExpertOutputs"/>
/// holds), then each rank's block timeline (<see cref="KernelBlockTimeline"/>) summarised per kernel and role
/// (<see cref="OperationTimeline"/>). Needs the Cuda backend and kernels built with NCCLEP_BLOCK_TIMELINE.
/// </summary>
internal static class BlockTimelineProbe
{
    public const string OptionName = "--timeline";

    public const string HostRefusal =
        OptionName + " needs --backend cuda: it reads the block timeline the GPU kernels record, and the Host backend has no GPU.";

    /// <summary>How to get kernels that record the timeline (the error of a run whose kernels have none).</summary>
    public const string BuildHint =
        OptionName + " needs kernels built with NCCLEP_BLOCK_TIMELINE, and these define no " + KernelBlockTimeline.Symbol + ". " +
        "scripts/gpu-bundle.sh prepares them in gpu-bundle/kernels-timeline (or: DEFINE=NCCLEP_BLOCK_TIMELINE bash scripts/kernel-variant.sh timeline HEAD " +
        "for kernel-variants/timeline); run with NCCLEP_KERNEL_SOURCE_DIR=<that folder> (scripts/gpu-ll-timeline.sh does).";

    /// <summary>What the figures are, for the outputs.</summary>
    public const string Method =
        "one update + dispatch + combine queued back to back after the timed loop (no host sync between them); per rank, µs after its " +
        "update kernel's first block started (globaltimer, thread 0 of each block at its start and end; each GPU has its own clock); " +
        "roles: both = every block does both halves, send / receive = the blocks of each half; gap = next kernel's first block start - " +
        "previous kernel's last block end (launch gap; negative: they overlap)";

    /// <summary>What the option cannot go with (the Host backend chosen by auto is refused once it is chosen, <see cref="RefusalOn"/>).</summary>
    public static string? Check(BenchOptions options)
    {
        if (!options.Timeline) return null;
        if (options.Backend == BackendChoice.Host) return HostRefusal;
        if (options.Procs > 0 || options.IsChild) return $"{OptionName} runs with the ranks as threads of this process; leave --procs out.";
        if (options.Ranks > KernelBlockTimeline.Ranks)
            return $"{OptionName} records ranks 0..{KernelBlockTimeline.Ranks - 1} only (TIMELINE_RANKS in ep_common.cuh), not --ranks {options.Ranks}.";
        return null;
    }

    /// <summary>The refusal once the backend is chosen (<c>--backend auto</c> may find no GPU), or null.</summary>
    public static string? RefusalOn(BenchOptions options, bool hostBackend) =>
        options is { Timeline: true } && hostBackend
            ? HostRefusal + (options.Backend == BackendChoice.Auto ? " (--backend auto found no usable GPU)" : "")
            : null;

    /// <summary>Fails the run before anything is timed where the groups' kernels record no timeline.</summary>
    public static void RequireBuiltIn(EpGroup[] groups)
    {
        foreach (EpGroup g in groups)
            if (!KernelBlockTimeline.IsBuiltIn(g)) throw new InvalidOperationException(BuildHint);
    }

    /// <summary>One rank: clears its records, meets the others, runs the step, waits for it and reads the records.</summary>
    public static OperationTimeline Measure(RankState s, Action meet)
    {
        EpGroup group = s.Group;
        EpHandle handle = s.Handle;
        KernelBlockTimeline.Clear(group);
        meet();
        handle.Update(s.Ids, s.Weights, s.Stream);
        s.Dispatch();
        group.Combine(handle, s.ProbeExpertOutputs, s.Combined, s.Stream);
        s.Backend.Synchronize(group, s.Stream);
        group.CheckErrors();
        if (!KernelBlockTimeline.TryRead(group, out BlockRecord[] records, out NcclEp.Interop.CuResult failure))
            throw new InvalidOperationException($"{OptionName}: reading rank {group.Rank}'s block timeline failed ({failure}).");
        return OperationTimeline.Of(group.Rank, records);
    }
}
