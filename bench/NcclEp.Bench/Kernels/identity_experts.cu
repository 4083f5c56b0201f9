// The bench's stand-in for the experts between dispatch and combine, on the GPU (GpuIdentityExperts.cs), with the
// semantics of IdentityExperts.cs: expert-major rows in use are copied unchanged (the combine applies the router
// weights); per-rank rows in use are multiplied by the fp32 sum, in slot order, of the weights of their top-k slots
// whose expert is on this rank, the product in fp32 rounded once. Rows not in use are left alone. Which rows are in
// use comes from the handle's counts in device memory: nothing is read back to the host.
// Defines: LAYOUT (0 flat, 1 expert-major, 2 rank-major), MODE (0 LL, 1 HT), DTYPE (0 bf16, 1 fp32), HIDDEN, TOPK.

typedef long long i64;
typedef unsigned int u32;

#define ROW_BYTES (HIDDEN * (DTYPE == 0 ? 2 : 4))
#define ROW_VECS (ROW_BYTES / 16)

// bf16 bits → float, and float → bf16 bits rounded to nearest even (NaN stays NaN), as BFloat16.RoundBits.
__device__ __forceinline__ float bf16_to_float(u32 bits) { return __uint_as_float(bits << 16); }
__device__ __forceinline__ u32 float_to_bf16(float f) {
    u32 bits = __float_as_uint(f);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x0040u;
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return bits >> 16;
}

__device__ __forceinline__ u32 scale_pair(u32 w, float factor) {
    const u32 lo = float_to_bf16(__fmul_rn(bf16_to_float(w & 0xFFFFu), factor));
    const u32 hi = float_to_bf16(__fmul_rn(bf16_to_float(w >> 16), factor));
    return lo | (hi << 16);
}

__device__ __forceinline__ int4 scale_vec(int4 v, float factor) {
#if DTYPE == 0
    return make_int4((int)scale_pair((u32)v.x, factor), (int)scale_pair((u32)v.y, factor),
                     (int)scale_pair((u32)v.z, factor), (int)scale_pair((u32)v.w, factor));
#else
    return make_int4(__float_as_int(__fmul_rn(__int_as_float(v.x), factor)), __float_as_int(__fmul_rn(__int_as_float(v.y), factor)),
                     __float_as_int(__fmul_rn(__int_as_float(v.z), factor)), __float_as_int(__fmul_rn(__int_as_float(v.w), factor)));
#endif
}

// Whether dispatch-output row `row` holds a received token (the same rows ReceivedRuns gives the host path).
__device__ __forceinline__ bool row_in_use(i64 row, const int* total, const int* rankCounts, const int* expertCounts,
                                           const int* expertOffsets, int maxTokens, int world, int localExperts) {
#if LAYOUT == 1 && MODE == 1
    return row < expertOffsets[localExperts];
#elif LAYOUT == 1
    const i64 capacity = (i64)world * maxTokens;
    const i64 l = row / capacity;
    return row - l * capacity < expertCounts[l];
#elif LAYOUT == 2
    const i64 s = row / maxTokens;
    return row - s * maxTokens < rankCounts[s];
#else
    return row < *total;
#endif
}

// A block per row (grid-stride over the dispatch output's rows); threads over the row's 16-byte vectors.
extern "C" __global__ void bench_identity_experts(const char* in, char* out, const int* total, const int* rankCounts,
                                                  const int* expertCounts, const int* expertOffsets, const int* ids,
                                                  const float* weights, i64 rows, int maxTokens, int world,
                                                  int localExperts, int rank) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        if (!row_in_use(row, total, rankCounts, expertCounts, expertOffsets, maxTokens, world, localExperts)) continue;
        const int4* src = (const int4*)(in + row * ROW_BYTES);
        int4* dst = (int4*)(out + row * ROW_BYTES);
#if LAYOUT == 1
        for (int v = threadIdx.x; v < ROW_VECS; v += blockDim.x) dst[v] = src[v];
#else
        float factor = 0.f;
        for (int slot = 0; slot < TOPK; slot++) {
            const int e = ids[row * TOPK + slot];
            if (e >= 0 && e / localExperts == rank) factor = __fadd_rn(factor, weights[row * TOPK + slot]);
        }
        for (int v = threadIdx.x; v < ROW_VECS; v += blockDim.x) dst[v] = scale_vec(src[v], factor);
#endif
    }
}
