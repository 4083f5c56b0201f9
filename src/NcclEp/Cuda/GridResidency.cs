using System.Globalization;

namespace NcclEp.Cuda;

/// <summary>
/// Whether a dispatch or combine grid can be resident all at once. Their receiving blocks spin on flags that sending
/// blocks of the same grid (and of co-located ranks' grids on the same GPU) release, so a block that waits for an SM
/// while the blocks holding the SMs wait for it would only end at the time-out. Checked at group creation.
/// </summary>
internal static class GridResidency
{
    /// <summary>
    /// Null when <paramref name="ranksPerDevice"/> grids of <paramref name="grid"/> blocks fit on
    /// <paramref name="multiprocessors"/> SMs at <paramref name="blocksPerSm"/> blocks each (the driver's occupancy for
    /// the kernel's block size and shared memory); otherwise what does not fit and what to change.
    /// </summary>
    public static string? Problem(string kernel, int blocksPerSm, int grid, int ranksPerDevice, int multiprocessors, int threads, long sharedBytes, int numSms)
    {
        long needed = (long)grid * ranksPerDevice, capacity = (long)blocksPerSm * multiprocessors;
        if (needed <= capacity) return null;
        string ranks = ranksPerDevice == 1 ? "" : string.Create(CultureInfo.InvariantCulture, $"{ranksPerDevice} co-located ranks × ");
        string asked = numSms > 0 ? string.Create(CultureInfo.InvariantCulture, $"EpConfig.NumSms = {numSms}") : "EpConfig.NumSms = 0 (every SM)";
        string fit = blocksPerSm == 0
            ? "not one block of it fits on an SM (its registers or shared memory exceed an SM's)"
            : string.Create(CultureInfo.InvariantCulture, $"only {blocksPerSm} block(s) fit per SM × {multiprocessors} SMs = {capacity}");
        return string.Create(CultureInfo.InvariantCulture,
            $"The {kernel} kernel's grid cannot be resident all at once: {ranks}{grid} blocks of {threads} threads ({sharedBytes} B of dynamic shared memory) need {needed} block slots, and {fit}. " +
            $"Its receiving blocks wait for its sending blocks, so every block must run at the same time. Lower the grid ({asked}) or give the ranks more GPUs.");
    }
}
