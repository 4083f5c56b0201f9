// The combine route (Combine forward, Dispatch backward): HostRankBackend.CombineRoute.cs is the reference.
//   send:   a thread per 16 bytes of each received row copies it to (token, slot) — or (token, this rank) —
//           on its source rank; the last block raises this rank's flag on every live peer.
//   reduce: after every live peer's flag, a thread per 16 bytes of each home token loads its terms in
//           batches (loads in flight together) and sums them in fp32 in a fixed order (slot order for
//           expert-major, rank order otherwise), rounding once.
#include "ep_common.cuh"

#define REDUCE_BATCH 8

__device__ __forceinline__ char* combine_row(const EpParams& p, char* window, int parity, int token, int slot) {
    return window + p.offCombineRows + ((i64)(parity * p.maxTokens + token) * p.combineSlots + slot) * p.rowBytes;
}

// Where the expert output for (token, slot) goes on source s: s's window, or s's out slice (network peers get
// S = netCombineSlots rows per token: one per top-k slot for expert-major, one otherwise).
__device__ __forceinline__ int4* outgoing_row(const EpParams& p, int s, int parity, int token, int slot) {
    if (!is_network(p, s)) return (int4*)combine_row(p, p.peers[s], parity, token, slot);
    const int column = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? slot : 0;
    return (int4*)(net_combine_slice(p, p.netOut, s) + p.netHeaderBytes + ((i64)token * p.netCombineSlots + column) * p.rowBytes);
}

// The expert output for (token, slot) that rank r sent here.
__device__ __forceinline__ const int4* incoming_row(const EpParams& p, int r, int parity, int token, int slot) {
    if (!is_network(p, r)) return (const int4*)combine_row(p, p.window, parity, token, slot);
    const int column = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? slot : 0;
    return (const int4*)(net_combine_slice(p, p.netIn, r) + p.netHeaderBytes + ((i64)token * p.netCombineSlots + column) * p.rowBytes);
}

// A warp per received row: its source, token and slot once, then the row home in 16-byte vectors.
__device__ void send_rows_home(const EpParams& p, u32 seq, int parity, int* sPrefix) {
    const int W = p.world, L = p.localExperts, M = p.maxTokens;
    const bool perExpert = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR;
    const int* active = active_mask(p);
    const int* counts = perExpert ? state_at<int>(p, p.hRecvExpertCounts) : state_at<int>(p, p.hRecvRankCounts);
    const int* expertOffsets = state_at<int>(p, p.hRecvExpertOffsets);
    const int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const int groups = perExpert ? L : W;
    const int lane = threadIdx.x & 31;

    warp0_exclusive_scan(counts, sPrefix, groups);
    __syncthreads();

    const int rows = sPrefix[groups];
    const int warps = gridDim.x * NCCLEP_WARPS;
    for (int g = blockIdx.x * NCCLEP_WARPS + (threadIdx.x >> 5); g < rows; g += warps) {
        const int bucket = find_bucket(sPrefix, groups, g);
        const int j = g - sPrefix[bucket];
        i64 index;
        const char* src;
        if (perExpert) {
            index = (i64)expertOffsets[bucket] + j;
            src = NCCLEP_MODE == MODE_LL ? p.rows + bucket * p.rowsStride0 + j * p.rowsStride1 : p.rows + index * p.rowsStride0;
        } else {
            index = NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)bucket * M + j : (i64)sPrefix[bucket] + j;
            src = NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? p.rows + bucket * p.rowsStride0 + j * p.rowsStride1 : p.rows + index * p.rowsStride0;
        }
        const int s = sourceInfo[index * 3], token = sourceInfo[index * 3 + 1];
        const int slot = perExpert ? sourceInfo[index * 3 + 2] : p.rank;
        if (s < 0 || s >= W || !active[s] || token < 0 || token >= M || slot < 0 || slot >= p.combineSlots) continue;
        int4* dst = outgoing_row(p, s, parity, token, slot);
        const int4* from = (const int4*)src;
        for (int v0 = lane; v0 < ROW_VECS; v0 += 32 * COPY_UNROLL) {
            int4 x[COPY_UNROLL];
#pragma unroll
            for (int u = 0; u < COPY_UNROLL; u++) if (v0 + 32 * u < ROW_VECS) x[u] = __ldg(from + v0 + 32 * u);
#pragma unroll
            for (int u = 0; u < COPY_UNROLL; u++) if (v0 + 32 * u < ROW_VECS) dst[v0 + 32 * u] = x[u];
        }
    }

    if (last_block_arrives(ctrl_u32(p, CTRL_TICKETS + 8))) {
        for (int r = threadIdx.x; r < W; r += blockDim.x) {
            if (!active[r]) continue;
            if (is_network(p, r)) *(u64*)net_combine_slice(p, p.netOut, r) = (u64)seq << 32;  // travels with the slice
            else st_release_sys((u64*)(p.peers[r] + p.offCombineFlags + (i64)(parity * W + p.rank) * 8), (u64)seq << 32);
        }
        if (threadIdx.x == 0) *ctrl_u32(p, CTRL_TICKETS + 8) = 0;
    }
}

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_combine(const EpParams p) {
    extern __shared__ int sPrefix[];  // [max(L, W) + 1]
    __shared__ int sFailed[NCCLEP_MAX_WORLD];
    const int K = NCCLEP_TOPK, W = p.world, L = p.localExperts;
    const bool perExpert = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR;
    const bool weighted = perExpert && (p.flags & FLAG_WEIGHTED) != 0;
    const u32 seq = *ctrl_u32(p, CTRL_COMBINE_SEQ) + 1;
    const int parity = seq & 1;
    const int* active = active_mask(p);

    if (p.steps & STEP_SEND) send_rows_home(p, seq, parity, sPrefix);
    if (!(p.steps & STEP_RECEIVE)) return;

    for (int r = threadIdx.x; r < W; r += blockDim.x) {
        u64 word;
        const u64* flag = is_network(p, r) ? (const u64*)net_combine_slice(p, p.netIn, r)
                                           : (const u64*)(p.window + p.offCombineFlags + (i64)(parity * W + r) * 8);
        sFailed[r] = active[r] && !wait_sequence(p, flag, seq, r, PHASE_COMBINE_RECEIVE, &word);
    }
    __syncthreads();

    const int* ids = state_at<int>(p, p.hTopkIds);
    const float* weights = state_at<float>(p, p.hTopkWeights);
    const int* rankPositions = state_at<int>(p, p.hRankPositions);
    const int terms = perExpert ? K : W;
    const i64 items = (i64)p.numTokens * ROW_VECS;

    for (i64 item = global_thread(); item < items; item += global_threads()) {
        const int t = (int)(item / ROW_VECS), v = (int)(item - (i64)t * ROW_VECS);
        float acc[ELEMS_PER_VEC];
#pragma unroll
        for (int x = 0; x < ELEMS_PER_VEC; x++) acc[x] = 0.f;

        for (int base = 0; base < terms; base += REDUCE_BATCH) {
            int4 y[REDUCE_BATCH];
            bool on[REDUCE_BATCH];
#pragma unroll
            for (int b = 0; b < REDUCE_BATCH; b++) {
                const int i = base + b;
                on[b] = false;
                if (i < terms) {
                    if (perExpert) { const int e = ids[t * K + i]; on[b] = e >= 0 && active[e / L] && !sFailed[e / L]; }
                    else on[b] = rankPositions[t * W + i] >= 0 && active[i] && !sFailed[i];
                }
                if (on[b]) y[b] = ld_cv(incoming_row(p, perExpert ? ids[t * K + i] / L : i, parity, t, i) + v);
            }
#pragma unroll
            for (int b = 0; b < REDUCE_BATCH; b++) {
                if (!on[b]) continue;
                float f[ELEMS_PER_VEC];
                unpack(y[b], f);
                if (weighted) {
                    const float w = weights[t * K + base + b];
#pragma unroll
                    for (int x = 0; x < ELEMS_PER_VEC; x++) acc[x] = __fadd_rn(acc[x], __fmul_rn(w, f[x]));
                } else {
#pragma unroll
                    for (int x = 0; x < ELEMS_PER_VEC; x++) acc[x] = __fadd_rn(acc[x], f[x]);
                }
            }
        }
        ((int4*)(p.home + t * p.homeStride))[v] = pack(acc);
    }

    if (last_block_arrives(ctrl_u32(p, CTRL_TICKETS + 12)) && threadIdx.x == 0) {
        *ctrl_u32(p, CTRL_COMBINE_SEQ) = seq;
        *ctrl_u32(p, CTRL_TICKETS + 12) = 0;
    }
}
