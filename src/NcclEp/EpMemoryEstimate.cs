using System;
using System.Globalization;

namespace NcclEp;

/// <summary>
/// The memory a configuration needs, by part, from <see cref="EpConfig.EstimateMemory"/>: what the group allocates
/// (the symmetric window, one handle's routing state) and what the caller allocates for one step in the layout
/// (token rows in and out, top-k ids and weights, the dispatch output and an expert-output tensor of the same shape).
/// </summary>
/// <remarks>
/// <see cref="EpGroup.CreateHost"/> and the <c>CreateCuda*</c> methods refuse, before allocating anything, a
/// configuration whose <see cref="TotalBytes"/> over the ranks that share one memory (every rank on the Host
/// backend, the ranks on one GPU on the Cuda backend) exceeds what that memory has available; see
/// <see cref="EpGroupOptions.CheckMemory"/>. Not counted: the CUDA context, compiled kernels and, for peers reached
/// over the network, the staging slices (docs/internode.md), nor allocation granularity.
/// </remarks>
/// <param name="Ranks">Ranks counted in <see cref="TotalBytes"/>.</param>
/// <param name="WindowBytes">One rank's symmetric window: the buffer its peers write messages, flags and rows into.</param>
/// <param name="HandleBytes">One <see cref="EpHandle"/>'s routing state (one per batch in flight).</param>
/// <param name="TokenBytes">One rank's caller tensors sized by <see cref="EpConfig.MaxTokensPerRank"/>: token rows
/// in, combined rows out, top-k ids and weights.</param>
/// <param name="LayoutBytes">One rank's caller tensors in the dispatch layout: the dispatch output (with its scales for
/// an FP8 dispatch) and the expert outputs (<see cref="EpConfig.ReceiveRows"/> rows each). A caller whose experts write
/// in place needs half (without quantization).</param>
public readonly record struct EpMemoryEstimate(int Ranks, long WindowBytes, long HandleBytes, long TokenBytes, long LayoutBytes)
{
    /// <summary>What one rank needs: the sum of the parts.</summary>
    public long PerRankBytes => WindowBytes + HandleBytes + TokenBytes + LayoutBytes;

    /// <summary>What <see cref="Ranks"/> ranks need together.</summary>
    public long TotalBytes => PerRankBytes * Ranks;

    /// <summary>The same parts counted for <paramref name="ranks"/> ranks (those that share one memory).</summary>
    public EpMemoryEstimate ForRanks(int ranks) => this with { Ranks = ranks };

    /// <summary>
    /// One line with the total and the parts, e.g.
    /// <c>10.2 GiB = 2 ranks × 5.1 GiB (window 2.5 GiB, handle 4.0 MiB, token tensors 12.0 MiB, dispatch output + expert outputs 2.5 GiB)</c>.
    /// </summary>
    public override string ToString() =>
        $"{Format(TotalBytes)} = {Ranks} rank{(Ranks == 1 ? "" : "s")} × {Format(PerRankBytes)} (window {Format(WindowBytes)}, " +
        $"handle {Format(HandleBytes)}, token tensors {Format(TokenBytes)}, dispatch output + expert outputs {Format(LayoutBytes)})";

    /// <summary>Bytes in binary units with one decimal: <c>512 B</c>, <c>3.0 KiB</c>, <c>1.5 MiB</c>, <c>36.9 GiB</c>.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
