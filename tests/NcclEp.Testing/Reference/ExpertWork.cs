using System;
using CommunityToolkit.HighPerformance;

namespace NcclEp.Testing;

/// <summary>
/// The per-rank layouts' expert, as a caller writes it (same rule as the round-trip suite): for each row the handle
/// says was received, Σ over the row's top-k slots ascending whose expert is on this rank of w·row in fp32, rounded
/// once. Every other row keeps the poison, so a combine that read one would show it.
/// </summary>
public static class ExpertWork
{
    public static EpBuffer WeightedRows(RankRig rig, int rank, EpBuffer input, EpBuffer output, byte poison)
    {
        EpConfig c = rig.Group.Config;
        int world = rig.Group.WorldSize, local = c.NumExperts / world;
        long pitch = rig.Shape.LayoutPitch;
        ElementArray data = rig.LayoutScratch;
        data.DownloadFrom(input);
        var result = new ElementArray(data.Length, c.DataType);
        result.Fill(poison);
        ReadOnlySpan2D<int> ids = rig.Group.Download2D<int>(rig.Handle.ReceivedTopkIds).Span;
        ReadOnlySpan2D<float> weights = rig.Group.Download2D<float>(rig.Handle.ReceivedTopkWeights).Span;
        int[] counts = HostView.Int32s(rig.Handle.ReceivedRankCounts);
        var acc = new float[c.Hidden];
        long flat = 0;
        for (int s = 0; s < world; s++)
        {
            for (int i = 0; i < counts[s]; i++)
            {
                long row = c.Layout == EpLayout.RankMajor ? ((long)s * c.MaxTokensPerRank) + i : flat + i;
                long physical = rig.PhysicalRow(row);
                Array.Clear(acc);
                for (int k = 0; k < c.TopK; k++)
                {
                    int e = ids[(int)row, k];
                    if (e < 0 || e / local != rank) continue;
                    float w = weights[(int)row, k];
                    for (int j = 0; j < c.Hidden; j++) acc[j] = acc[j] + (w * Numerics.Decode(data[(physical * pitch) + j], c.DataType));
                }
                for (int j = 0; j < c.Hidden; j++) result.Set((physical * pitch) + j, Numerics.Encode(acc[j], c.DataType));
            }
            flat += counts[s];
        }
        result.UploadTo(output);
        return output;
    }
}
