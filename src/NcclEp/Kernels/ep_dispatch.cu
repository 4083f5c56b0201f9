// The dispatch route (Dispatch forward, Combine backward): HostRankBackend.DispatchRoute.cs and
// HostRankBackend.LayOut.cs are the reference. One launch:
//   send:    a warp per (token, destination rank): header + row into the peer's message slot;
//            the last block to finish writes each peer's per-expert counts and its flag (seq << 32 | count).
//   receive: every block waits for every live source's flag (bounded), computes the offsets, and a warp
//            per received message copies the row into the layout with its metadata.
#include "ep_common.cuh"

__device__ __forceinline__ char* message_at(const EpParams& p, char* window, int parity, int source, int slot) {
    return window + p.offMessages + ((i64)(parity * p.world + source) * p.maxTokens + slot) * p.messageBytes;
}

__device__ void send_tokens(const EpParams& p, u32 seq, int parity) {
    const int K = NCCLEP_TOPK, W = p.world, L = p.localExperts;
    const int lane = threadIdx.x & 31;
    const int warp = blockIdx.x * NCCLEP_WARPS + (threadIdx.x >> 5);
    const int warps = gridDim.x * NCCLEP_WARPS;
    const int* active = active_mask(p);
    const int* ids = state_at<int>(p, p.hTopkIds);
    const float* weights = state_at<float>(p, p.hTopkWeights);
    const int* rankPositions = state_at<int>(p, p.hRankPositions);
    const int* slotPositions = state_at<int>(p, p.hSlotPositions);

    for (int pair = warp; pair < p.numTokens * W; pair += warps) {
        const int t = pair / W, r = pair - t * W;
        const int position = rankPositions[pair];
        if (position < 0 || !active[r]) continue;
        char* message = message_at(p, p.peers[r], parity, p.rank, position);
        if (lane == 0) *(int*)message = t;
        if (lane < K) {
            const int e = ids[t * K + lane];
            ((int*)(message + 16))[lane] = e;
            ((float*)(message + 16 + 4 * K))[lane] = weights[t * K + lane];
            ((int*)(message + 16 + 8 * K))[lane] = e >= 0 && e / L == r ? slotPositions[t * K + lane] : -1;
        }
        const int4* src = (const int4*)(p.home + t * p.homeStride);
        int4* dst = (int4*)(message + p.headerBytes);
#pragma unroll 4
        for (int v = lane; v < ROW_VECS; v += 32) dst[v] = src[v];
    }

    if (last_block_arrives(ctrl_u32(p, CTRL_TICKETS))) {
        const int* expertCounts = state_at<int>(p, p.hSendExpertCounts);
        const int* rankCounts = state_at<int>(p, p.hSendRankCounts);
        for (int i = threadIdx.x; i < W * L; i += blockDim.x) {
            const int r = i / L, l = i - r * L;
            if (active[r]) ((int*)(p.peers[r] + p.offExpertCounts + (i64)(parity * W + p.rank) * L * 4))[l] = expertCounts[i];
        }
        __threadfence_system();
        __syncthreads();
        for (int r = threadIdx.x; r < W; r += blockDim.x) {
            if (active[r]) st_release_sys((u64*)(p.peers[r] + p.offDispatchFlags + (i64)(parity * W + p.rank) * 8), ((u64)seq << 32) | (u32)rankCounts[r]);
        }
        if (threadIdx.x == 0) *ctrl_u32(p, CTRL_TICKETS) = 0;
    }
}

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_dispatch(const EpParams p) {
    extern __shared__ int shared[];
    __shared__ int sCount[NCCLEP_MAX_WORLD];
    __shared__ int sBase[NCCLEP_MAX_WORLD + 1];
    const int K = NCCLEP_TOPK, W = p.world, L = p.localExperts, M = p.maxTokens;
    const bool perExpert = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR;
    const bool packed = NCCLEP_MODE == MODE_HT;
    int* sSourceOffsets = shared;            // [L][W]
    int* sExpertCounts = shared + L * W;     // [L]
    int* sSegments = sExpertCounts + L;      // [L + 1]

    const u32 seq = *ctrl_u32(p, CTRL_DISPATCH_SEQ) + 1;
    const int parity = seq & 1;
    const int* active = active_mask(p);

    send_tokens(p, seq, parity);

    // Receive: counts from every live source.
    for (int s = threadIdx.x; s < W; s += blockDim.x) {
        // -1 marks a source that timed out: it contributes nothing, and nothing is read from it.
        int count = 0;
        u64 word;
        if (active[s])
            count = wait_sequence(p, (const u64*)(p.window + p.offDispatchFlags + (i64)(parity * W + s) * 8), seq, s, PHASE_DISPATCH_RECEIVE, &word)
                ? min((int)(u32)word, M) : -1;
        sCount[s] = count;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int base = 0;
        for (int s = 0; s < W; s++) { sBase[s] = base; base += max(sCount[s], 0); }
        sBase[W] = base;
    }
    const i64 capacity = (i64)W * M;
    for (int l = threadIdx.x; l < L; l += blockDim.x) {
        int running = 0;
        for (int s = 0; s < W; s++) {
            sSourceOffsets[l * W + s] = running;
            if (sCount[s] >= 0 && active[s])
                running += min(max(ld_cv((const int*)(p.window + p.offExpertCounts + (i64)(parity * W + s) * L * 4) + l), 0), M);
        }
        sExpertCounts[l] = running;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int segment = 0, used = 0;
        for (int l = 0; l < L; l++) {
            sSegments[l] = packed ? segment : (int)(l * capacity);
            segment += (sExpertCounts[l] + p.expertAlignment - 1) / p.expertAlignment * p.expertAlignment;
            used += sExpertCounts[l];
        }
        sSegments[L] = packed ? segment : (int)(L * capacity);
        if (blockIdx.x == 0)
            *state_at<int>(p, p.hRecvTotal) = perExpert ? (packed ? segment : used) : sBase[W];
    }
    __syncthreads();

    if (blockIdx.x == 0) {
        for (int s = threadIdx.x; s < W; s += blockDim.x) state_at<int>(p, p.hRecvRankCounts)[s] = max(sCount[s], 0);
        for (int l = threadIdx.x; l < L; l += blockDim.x) state_at<int>(p, p.hRecvExpertCounts)[l] = sExpertCounts[l];
        for (int l = threadIdx.x; l <= L; l += blockDim.x) state_at<int>(p, p.hRecvExpertOffsets)[l] = sSegments[l];
        for (int i = threadIdx.x; i < L * W; i += blockDim.x) state_at<int>(p, p.hRecvSourceOffsets)[i] = sSourceOffsets[i];
    }

    const int lane = threadIdx.x & 31;
    const int warp = blockIdx.x * NCCLEP_WARPS + (threadIdx.x >> 5);
    const int warps = gridDim.x * NCCLEP_WARPS;
    int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const bool scale = (p.flags & FLAG_SCALE_BY_WEIGHT) != 0;

    for (int g = warp; g < sBase[W]; g += warps) {
        int s = 0;
        while (g >= sBase[s + 1]) s++;
        const int i = g - sBase[s];
        const char* message = message_at(p, p.window, parity, s, i);
        const int token = ld_cv((const int*)message);
        const int id = lane < K ? ld_cv((const int*)(message + 16) + lane) : -1;
        const float weight = lane < K ? ld_cv((const float*)(message + 16 + 4 * K) + lane) : 0.f;
        const int4* src = (const int4*)(message + p.headerBytes);

        if (!perExpert) {
            const i64 index = NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)s * M + i : (i64)sBase[s] + i;
            int4* dst = (int4*)(NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? p.rows + s * p.rowsStride0 + i * p.rowsStride1 : p.rows + index * p.rowsStride0);
#pragma unroll 4
            for (int v = lane; v < ROW_VECS; v += 32) dst[v] = ld_cv(src + v);
            if (lane == 0) { sourceInfo[index * 3] = s; sourceInfo[index * 3 + 1] = token; sourceInfo[index * 3 + 2] = -1; }
            if (lane < K) {
                state_at<int>(p, p.hRecvTopkIds)[index * K + lane] = id;
                state_at<float>(p, p.hRecvTopkWeights)[index * K + lane] = weight;
            }
            continue;
        }

        // Expert-major: one destination row per slot whose expert is here; read the row once.
        const int position = lane < K ? ld_cv((const int*)(message + 16 + 8 * K) + lane) : -1;
        char* dstRow = nullptr;
        if (position >= 0) {
            const int l = id - p.rank * L;
            const int j = sSourceOffsets[l * W + s] + position;
            const i64 index = (i64)sSegments[l] + j;
            if (l >= 0 && l < L && j < (packed ? sExpertCounts[l] : capacity) && index < p.receiveRows) {
                dstRow = packed ? p.rows + index * p.rowsStride0 : p.rows + l * p.rowsStride0 + j * p.rowsStride1;
                sourceInfo[index * 3] = s; sourceInfo[index * 3 + 1] = token; sourceInfo[index * 3 + 2] = lane;
            }
        }
        const u32 slots = __ballot_sync(0xFFFFFFFFu, dstRow != nullptr);
        for (u32 m = slots; m != 0; m &= m - 1) {
            const int k = __ffs(m) - 1;
            int4* dst = (int4*)__shfl_sync(0xFFFFFFFFu, (u64)dstRow, k);
            const float w = __shfl_sync(0xFFFFFFFFu, weight, k);
#pragma unroll 4
            for (int v = lane; v < ROW_VECS; v += 32) {
                const int4 value = ld_cv(src + v);
                dst[v] = scale ? scale_vec(value, w) : value;
            }
        }
    }

    // High-throughput expert-major: zero the padding rows of each segment.
    if (perExpert && packed) {
        for (int l = warp; l < L; l += warps) {
            const int end = sSegments[l + 1];
            for (int index = sSegments[l] + sExpertCounts[l]; index < end; index++) {
                int4* dst = (int4*)(p.rows + (i64)index * p.rowsStride0);
                for (int v = lane; v < ROW_VECS; v += 32) dst[v] = make_int4(0, 0, 0, 0);
                if (lane < 3) sourceInfo[(i64)index * 3 + lane] = -1;
            }
        }
    }

    if (last_block_arrives(ctrl_u32(p, CTRL_TICKETS + 4)) && threadIdx.x == 0) {
        *ctrl_u32(p, CTRL_DISPATCH_SEQ) = seq;
        *ctrl_u32(p, CTRL_TICKETS + 4) = 0;
    }
}
