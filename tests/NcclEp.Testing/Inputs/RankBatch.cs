using System;

namespace NcclEp.Testing;

/// <summary>
/// One rank's inputs of a round trip: <c>[tokens × topK]</c> expert ids (-1: no expert) and router weights, and
/// <c>[tokens × hidden]</c> token rows and output gradient rows, held as the element bits of the row dtype (so they
/// upload as they are, and the reference reads exactly what the library read).
/// </summary>
public sealed class RankBatch
{
    public RankBatch(int tokens, int topK, int hidden, EpDataType dataType, bool gradient = true)
    {
        Tokens = tokens;
        TopK = topK;
        Hidden = hidden;
        DataType = dataType;
        Ids = new int[tokens * topK];
        Weights = new float[tokens * topK];
        X = new byte[(long)tokens * RowBytes];
        Grad = gradient ? new byte[(long)tokens * RowBytes] : [];
    }

    public int Tokens { get; }
    public int TopK { get; }
    public int Hidden { get; }
    public EpDataType DataType { get; }
    public int RowBytes => Hidden * DataType.SizeInBytes();
    public int[] Ids { get; }
    public float[] Weights { get; }

    /// <summary>Token rows, element bits of <see cref="DataType"/>.</summary>
    public byte[] X { get; }

    /// <summary>Output gradient rows (the backward pass's input), element bits of <see cref="DataType"/>; empty if not drawn.</summary>
    public byte[] Grad { get; }

    public int Id(int token, int slot) => Ids[(token * TopK) + slot];

    public float Weight(int token, int slot) => Weights[(token * TopK) + slot];

    public ReadOnlySpan<byte> XRow(int token) => X.AsSpan(token * RowBytes, RowBytes);

    public ReadOnlySpan<byte> GradRow(int token) => Grad.AsSpan(token * RowBytes, RowBytes);

    /// <summary>Element <paramref name="i"/> of token row <paramref name="token"/>, as a float.</summary>
    public float XAt(int token, int i) => Numerics.DecodeAt(X, ((long)token * Hidden) + i, DataType);

    /// <summary>Element <paramref name="i"/> of gradient row <paramref name="token"/>, as a float.</summary>
    public float GradAt(int token, int i) => Numerics.DecodeAt(Grad, ((long)token * Hidden) + i, DataType);
}
