// The test experts on the GPU (GpuAffineExperts.cs launches this), bit for bit the definition in AffineExperts.cs:
// expert e is f_e(x) = fl(fl(x * a_e) + b_e), a_e = (96 + e % 64) / 128, b_e = ((e / 64) % 16 - 8) / 16; its backward is
// fl(d * a_e). Expert-major rows: y = dtype(f_e(x)). Per-rank rows: per element, over the row's top-k slots ascending
// whose expert is on this rank, acc = fl(acc + fl(w_k * f_{e_k}(x))), y = dtype(acc). Products and sums are rounded
// separately (__fmul_rn / __fadd_rn, never fused) and fp32 -> bf16 rounds to nearest even as the library's kernels
// (f32_to_bf16 in src/NcclEp/Kernels/ep_common.cuh) and BFloat16.RoundBits. Rows not in use are left alone; which rows
// are in use comes from the handle's counts in device memory: nothing is read back to the host.
// Defines: LAYOUT (0 flat, 1 expert-major, 2 rank-major), MODE (0 LL, 1 HT), DTYPE (0 bf16, 1 fp32), HIDDEN, TOPK.

typedef long long i64;
typedef unsigned int u32;

#if DTYPE == 0
typedef unsigned short elem_t;
__device__ __forceinline__ float load_elem(const elem_t* p, int i) { return __uint_as_float(((u32)p[i]) << 16); }
__device__ __forceinline__ u32 f32_to_bf16(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return ((u >> 16) | 0x40u) & 0xFFFFu;
    u += 0x7FFFu + ((u >> 16) & 1u);
    return u >> 16;
}
__device__ __forceinline__ void store_elem(elem_t* p, int i, float f) { p[i] = (elem_t)f32_to_bf16(f); }
#else
typedef float elem_t;
__device__ __forceinline__ float load_elem(const elem_t* p, int i) { return p[i]; }
__device__ __forceinline__ void store_elem(elem_t* p, int i, float f) { p[i] = f; }
#endif

// a_e and b_e: small integers times powers of two, exact in fp32.
__device__ __forceinline__ float expert_a(int e) { return __fmul_rn((float)(96 + (e & 63)), 0.0078125f); }
__device__ __forceinline__ float expert_b(int e) { return __fmul_rn((float)(((e >> 6) & 15) - 8), 0.0625f); }

// f_e(x) forward, f'_e(x) backward.
__device__ __forceinline__ float expert_apply(int e, float x, int backward) {
    const float product = __fmul_rn(x, expert_a(e));
    return backward ? product : __fadd_rn(product, expert_b(e));
}

// Which rows are in use: returns the local expert (expert-major), -1 for a per-rank row in use, -2 for a row not in use.
__device__ __forceinline__ int row_owner(i64 row, const int* total, const int* rankCounts, const int* expertCounts,
                                         const int* expertOffsets, int maxTokens, int world, int localExperts) {
#if LAYOUT == 1 && MODE == 1
    for (int l = 0; l < localExperts; l++) {
        if (row >= expertOffsets[l] && row < (i64)expertOffsets[l] + expertCounts[l]) return l;
    }
    return -2;
#elif LAYOUT == 1
    const i64 capacity = (i64)world * maxTokens;
    const int l = (int)(row / capacity);
    return row - l * capacity < expertCounts[l] ? l : -2;
#elif LAYOUT == 2
    const i64 s = row / maxTokens;
    return row - s * maxTokens < rankCounts[s] ? -1 : -2;
#else
    return row < *total ? -1 : -2;
#endif
}

// A block per row (grid-stride over the dispatch output's rows); threads over the row's elements. Row r of the layout
// (flattened over a 3-D layout's leading dimensions) starts at element (r / blockRows) * stride0 + (r % blockRows) * stride1.
extern "C" __global__ void affine_experts(const elem_t* in, elem_t* out, i64 inStride0, i64 inStride1, i64 outStride0,
                                          i64 outStride1, i64 blockRows, const int* total, const int* rankCounts,
                                          const int* expertCounts, const int* expertOffsets, const int* ids,
                                          i64 idsStride, const float* weights, i64 weightsStride, i64 rows, int maxTokens,
                                          int world, int localExperts, int rank, int backward) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        const int owner = row_owner(row, total, rankCounts, expertCounts, expertOffsets, maxTokens, world, localExperts);
        if (owner == -2) continue;
        const i64 block = row / blockRows, j = row - block * blockRows;
        const elem_t* x = in + block * inStride0 + j * inStride1;
        elem_t* y = out + block * outStride0 + j * outStride1;
#if LAYOUT == 1
        const int e = rank * localExperts + owner;
        for (int i = threadIdx.x; i < HIDDEN; i += blockDim.x) store_elem(y, i, expert_apply(e, load_elem(x, i), backward));
#else
        const int first = rank * localExperts;
        const int* rowIds = ids + row * idsStride;
        const float* rowWeights = weights + row * weightsStride;
        for (int i = threadIdx.x; i < HIDDEN; i += blockDim.x) {
            const float v = load_elem(x, i);
            float acc = 0.f;
            for (int k = 0; k < TOPK; k++) {
                const int e = rowIds[k];
                if (e < first || e >= first + localExperts) continue;
                acc = __fadd_rn(acc, __fmul_rn(rowWeights[k], expert_apply(e, v, backward)));
            }
            store_elem(y, i, acc);
        }
#endif
    }
}
