using System;

namespace NcclEp.Testing;

/// <summary>
/// The experts every check runs between dispatch and combine, and their backward: distinct for every expert, so that a
/// combine that takes another slot's row, or pairs a row with another slot's weight, changes the result.
/// </summary>
/// <remarks>
/// <para>Expert <c>e</c> (global id) is the affine map <c>f_e(x) = x·a_e + b_e</c> with</para>
/// <code>
/// a_e = (96 + (e mod 64)) / 128          0.75 … 1.2421875 in steps of 2^-7 (exact in fp32)
/// b_e = ((e div 64) mod 16 − 8) / 16     −0.5 … 0.4375 in steps of 2^-4 (exact)
/// </code>
/// <para>so no two of experts 0 … 1023 share (a_e, b_e). Every operation below is one fp32 operation rounded to nearest
/// even, in exactly this order, with no fused multiply-add (<c>__fmul_rn</c> / <c>__fadd_rn</c> in
/// <c>Kernels/affine_experts.cu</c>; .NET never fuses); <c>fl(·)</c> is that rounding and <c>dtype(·)</c> rounds the
/// fp32 result once to the row type (bf16: round to nearest even, a NaN stays a quiet NaN with its sign, as
/// <c>BFloat16.RoundBits</c> and the kernels' <c>f32_to_bf16</c>; fp32: unchanged). Inputs are the row elements widened
/// to fp32 exactly.</para>
/// <code>
/// f_e(x)  = fl(fl(x · a_e) + b_e)            forward of one expert
/// f'_e(d) = fl(d · a_e)                      its exact gradient applied to d
///
/// Expert-major layouts (one row per (token, slot), held by the rank of expert e):
///   forward   y  = dtype(f_e(x))
///   backward  dx = dtype(f'_e(dy))          dy: the combine-backward row (the library's w·g)
///
/// Per-rank layouts (Flat, RankMajor: one row per (token, rank), the token's top-k ids and weights beside it):
/// over the row's slots k = 0 … K−1 ascending whose expert e_k lives on this rank, per element:
///   forward   acc = 0;  acc = fl(acc + fl(w_k · f_{e_k}(x)));   y  = dtype(acc)
///   backward  acc = 0;  acc = fl(acc + fl(w_k · f'_{e_k}(g)));  dx = dtype(acc)   g: the combine-backward row
/// </code>
/// <para>The per-rank combine is an unweighted sum of the ranks' rows, so the router weights are applied here; the
/// backward is the exact gradient of the forward (d/dx Σ w_k·(x·a_k + b_k) = Σ w_k·a_k). Rows not in use are left as
/// they are. <see cref="ReferenceModel"/> computes the expected outputs from the same definition, token by token.</para>
/// </remarks>
public static class AffineExperts
{
    /// <summary>Slope a_e of expert <paramref name="expert"/>.</summary>
    public static float A(int expert) => (96 + (expert & 63)) * 0.0078125f;

    /// <summary>Offset b_e of expert <paramref name="expert"/>.</summary>
    public static float B(int expert) => (((expert >> 6) & 15) - 8) * 0.0625f;

    /// <summary>f_e(x) = fl(fl(x·a_e) + b_e).</summary>
    public static float Forward(int expert, float x)
    {
        float product = x * A(expert);
        return product + B(expert);
    }

    /// <summary>f'_e(d) = fl(d·a_e).</summary>
    public static float Backward(int expert, float d) => d * A(expert);

    /// <summary>f_e (forward) or f'_e (backward).</summary>
    public static float Apply(EpPass pass, int expert, float x) => pass == EpPass.Forward ? Forward(expert, x) : Backward(expert, x);

    /// <summary>
    /// The expert that stands in for <paramref name="key"/> in operation <paramref name="op"/>, for checks that want
    /// other experts in every operation (the protocol tests: a combine that reduces rows an earlier operation left, or
    /// another slot's or rank's rows, must not match). <paramref name="key"/> is a global expert id, or the receiving
    /// rank where a per-rank layout's row has one function. (key + 67·op) mod 1024: 67 is odd, so for one key the
    /// first 1024 operations get 1024 different experts, and within one operation keys 0…1023 do too.
    /// </summary>
    public static int OfOperation(int op, int key) => (key + (67 * op)) & 1023;

    /// <summary>An expert-major row of expert <paramref name="expert"/>: <c>output = dtype(f(input))</c> element by element.</summary>
    public static void ExpertRow(EpDataType type, EpPass pass, int expert, ReadOnlySpan<byte> input, Span<byte> output, int hidden)
    {
        Span<float> x = Scratch(ref t_input, hidden);
        RowMath.Decode(input, type, x);
        RowMath.Affine(x, A(expert), B(expert), pass == EpPass.Forward, x);
        RowMath.Encode(x, type, output);
    }

    /// <summary>
    /// A per-rank row: per element, Σ over the slots ascending whose expert is in [<paramref name="firstLocal"/>,
    /// <paramref name="firstLocal"/> + <paramref name="localExperts"/>) of fl(w·f(input)), accumulated in fp32 and
    /// rounded once to the dtype.
    /// </summary>
    public static void RankRow(EpDataType type, EpPass pass, ReadOnlySpan<int> ids, ReadOnlySpan<float> weights, int firstLocal, int localExperts,
        ReadOnlySpan<byte> input, Span<byte> output, int hidden)
    {
        Span<float> x = Scratch(ref t_input, hidden), term = Scratch(ref t_term, hidden), acc = Scratch(ref t_acc, hidden);
        RowMath.Decode(input, type, x);
        acc.Clear();
        for (int k = 0; k < ids.Length; k++)
        {
            int e = ids[k];
            if (e < firstLocal || e >= firstLocal + localExperts) continue;
            RowMath.Affine(x, A(e), B(e), pass == EpPass.Forward, term);
            RowMath.Scale(term, weights[k]);
            RowMath.AddTo(acc, term);
        }
        RowMath.Encode(acc, type, output);
    }

    // Per-thread scratch rows: the experts run inside graph replays, which must not allocate after the first.
    [ThreadStatic] private static float[]? t_input, t_term, t_acc;

    private static Span<float> Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}
