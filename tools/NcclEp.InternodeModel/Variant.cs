namespace NcclEp.InternodeModel;

/// <summary>How the network leg of one operation is carried.</summary>
public enum Variant
{
    /// <summary>Built: a whole worst-case slice per network peer, one ncclGroup of sends and receives, count in-band.</summary>
    FlatFixed,

    /// <summary>Counts first (ncclSend/ncclRecv of the counts, host reads them), then only actual bytes; not capturable.</summary>
    FlatCountsFirst,

    /// <summary>NCCL 2.28.7+ device-initiated puts (GIN) of actual bytes, one put with a signal per network peer.</summary>
    FlatGin,

    /// <summary>Designed: rail-aligned forwarding, one worst-case slice per peer node.</summary>
    HierarchicalFixed,

    /// <summary>Rail-aligned forwarding with GIN puts of actual bytes, network and NVLink legs pipelined.</summary>
    HierarchicalGin,
}

/// <summary>Dispatch (tokens out) or combine (expert outputs home).</summary>
public enum Operation
{
    Dispatch,
    Combine,
}

/// <summary>Rows a combine returns per (token, rank): one per top-k slot, or one pre-reduced row.</summary>
public enum CombineRows
{
    /// <summary>ExpertMajor: one row per top-k slot whose expert is on that rank (combine slice S = K).</summary>
    PerSlot,

    /// <summary>Flat, RankMajor: one row per (token, destination rank) (S = 1).</summary>
    PerRank,
}

/// <summary>Names used in the tables.</summary>
public static class VariantNames
{
    public static string Of(Variant variant) => variant switch
    {
        Variant.FlatFixed => "flat, fixed slices (built)",
        Variant.FlatCountsFirst => "flat, counts first",
        Variant.FlatGin => "flat, GIN actual bytes",
        Variant.HierarchicalFixed => "hierarchical, fixed slices",
        Variant.HierarchicalGin => "hierarchical, GIN actual bytes",
        _ => variant.ToString(),
    };

    public static bool IsHierarchical(Variant variant) => variant is Variant.HierarchicalFixed or Variant.HierarchicalGin;

    public static bool IsFixed(Variant variant) => variant is Variant.FlatFixed or Variant.HierarchicalFixed;

    public static bool UsesGin(Variant variant) => variant is Variant.FlatGin or Variant.HierarchicalGin;
}
