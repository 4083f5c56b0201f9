using System;
namespace NcclEp;

/// <summary>The sizes every check and kernel of a group needs, computed once at creation.</summary>
internal readonly record struct EpShapes
{
    public EpShapes(in EpConfig config, int worldSize)
    {
        Mode = config.Mode;
        Layout = config.Layout;
        DataType = config.DataType;
        WorldSize = worldSize;
        LocalExperts = config.LocalExperts(worldSize);
        NumExperts = config.NumExperts;
        Hidden = config.Hidden;
        TopK = config.TopK;
        MaxTokensPerRank = config.MaxTokensPerRank;
        ReceiveRows = config.ReceiveRows(worldSize);
        ExpertAlignment = config.ExpertAlignment;
        ElementSize = config.DataType.SizeInBytes();
        Quantization = config.DispatchQuantization;
        ScaleColumns = config.ScaleColumns;
        ScalesDataType = config.ScalesDataType;
    }

    public EpMode Mode { get; }
    public EpLayout Layout { get; }
    public EpDataType DataType { get; }
    public int WorldSize { get; }
    public int LocalExperts { get; }
    public int NumExperts { get; }
    public int Hidden { get; }
    public int TopK { get; }
    public int MaxTokensPerRank { get; }
    public long ReceiveRows { get; }
    public int ExpertAlignment { get; }
    public int ElementSize { get; }
    public EpDispatchQuantization Quantization { get; }

    /// <summary>Columns of the scales tensor of an FP8 dispatch (0 without quantization).</summary>
    public int ScaleColumns { get; }
    public EpDataType ScalesDataType { get; }
}
