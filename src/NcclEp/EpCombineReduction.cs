using System;
namespace NcclEp;

/// <summary>
/// How the combine route of an <see cref="EpLayout.ExpertMajor"/> group brings expert outputs home
/// (<see cref="EpConfig.CombineReduction"/>; docs/kernels.md, "Per-rank partials").
/// </summary>
public enum EpCombineReduction
{
    /// <summary>
    /// One row per (token, top-k slot) goes home; the home rank sums the K terms (w·y for <c>Combine</c>, y for the
    /// backward <c>Dispatch</c>) in slot order in fp32 and rounds once. The per-rank layouts always work this way per
    /// rank (their rows already hold one row per (token, rank)).
    /// </summary>
    PerSlot = 0,

    /// <summary>
    /// Expert-major only: the expert's rank sums its local slots' terms of each received token in ascending slot order
    /// in fp32, rounds that partial once to the row type and sends one row per (token, rank) home; the home rank sums
    /// the live ranks' partials in rank order in fp32 and rounds once. Fewer rows cross the link (at 2 ranks and top-8
    /// about a quarter) and the result is bit-reproducible, but it rounds differently from <see cref="PerSlot"/>
    /// (one extra rounding per partial in bf16).
    /// </summary>
    PerRank = 1,
}
