using System;
using System.Runtime.InteropServices;

namespace NcclEp;

/// <summary>
/// Where a received row came from: the row of <see cref="EpHandle.ReceivedSourceInfo"/> beside each
/// dispatched row. Combine uses it to send each result home.
/// </summary>
/// <param name="Rank">Source rank.</param>
/// <param name="Token">Token index on the source rank.</param>
/// <param name="Slot">Top-k slot for per-expert layouts; -1 for the per-rank layouts (one row serves every local slot).</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct EpSourceInfo(int Rank, int Token, int Slot);
