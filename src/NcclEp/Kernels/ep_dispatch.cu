// The dispatch route (Dispatch forward, Combine backward): HostRankBackend.DispatchRoute.cs and
// HostRankBackend.LayOut.cs are the reference. One launch:
//   send:    a thread per 16 bytes of each (token, destination rank) message (header, then row), so the
//            copy is bandwidth-bound, not latency-bound; the last block to finish writes each peer's
//            per-expert counts and its flag (seq << 32 | tokens).
//   receive: every block waits for every live source's flag (bounded), computes the offsets, and a thread
//            per 16 bytes of each received row writes it to every destination the layout gives it.
#include "ep_common.cuh"

__device__ __forceinline__ char* message_at(const EpParams& p, char* window, int parity, int source, int slot) {
    return window + p.offMessages + ((i64)(parity * p.world + source) * p.maxTokens + slot) * p.messageBytes;
}

// Word i of the header of token t's message to rank r.
__device__ __forceinline__ int header_word(const EpParams& p, int t, int r, int i) {
    const int K = NCCLEP_TOPK;
    if (i == 0) return t;
    if (i < 4) return 0;
    i -= 4;
    if (i < K) return state_at<int>(p, p.hTopkIds)[t * K + i];
    i -= K;
    if (i < K) return __float_as_int(state_at<float>(p, p.hTopkWeights)[t * K + i]);
    i -= K;
    if (i < K) {
        const int e = state_at<int>(p, p.hTopkIds)[t * K + i];
        return e >= 0 && e / p.localExperts == r ? state_at<int>(p, p.hSlotPositions)[t * K + i] : -1;
    }
    return 0;
}

__device__ void send_tokens(const EpParams& p, u32 seq, int parity) {
    const int W = p.world, L = p.localExperts;
    const int VECS = HEADER_VECS + ROW_VECS;
    const int* active = active_mask(p);
    const int* rankPositions = state_at<int>(p, p.hRankPositions);
    const i64 items = (i64)p.numTokens * W * VECS;

    for (i64 item = global_thread(); item < items; item += global_threads()) {
        const int pair = (int)(item / VECS), v = (int)(item - (i64)pair * VECS);
        const int t = pair / W, r = pair - t * W;
        const int position = rankPositions[pair];
        if (position < 0 || !active[r]) continue;
        int4* message = (int4*)message_at(p, p.peers[r], parity, p.rank, position);
        if (v < HEADER_VECS) {
            message[v] = make_int4(header_word(p, t, r, 4 * v), header_word(p, t, r, 4 * v + 1),
                                   header_word(p, t, r, 4 * v + 2), header_word(p, t, r, 4 * v + 3));
        } else {
            message[v] = ((const int4*)(p.home + t * p.homeStride))[v - HEADER_VECS];
        }
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
    int* sPadded = sSegments + L + 1;        // [L] padded counts (scan input)

    const u32 seq = *ctrl_u32(p, CTRL_DISPATCH_SEQ) + 1;
    const int parity = seq & 1;
    const int* active = active_mask(p);

    send_tokens(p, seq, parity);

    // Receive: counts from every live source; -1 marks one that timed out (it contributes nothing).
    for (int s = threadIdx.x; s < W; s += blockDim.x) {
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
    for (int l = threadIdx.x; l < L; l += blockDim.x) {
        int running = 0;
        for (int s = 0; s < W; s++) {
            sSourceOffsets[l * W + s] = running;
            if (sCount[s] >= 0 && active[s])
                running += min(max(((const int*)(p.window + p.offExpertCounts + (i64)(parity * W + s) * L * 4))[l], 0), M);
        }
        sExpertCounts[l] = running;
        sPadded[l] = (running + p.expertAlignment - 1) / p.expertAlignment * p.expertAlignment;
    }
    __syncthreads();
    const i64 capacity = (i64)W * M;
    if (packed) {
        warp0_exclusive_scan(sPadded, sSegments, L);
    } else {
        for (int l = threadIdx.x; l <= L; l += blockDim.x) sSegments[l] = (int)(l * capacity);
    }
    __syncthreads();

    if (blockIdx.x == 0) {
        for (int s = threadIdx.x; s < W; s += blockDim.x) state_at<int>(p, p.hRecvRankCounts)[s] = max(sCount[s], 0);
        for (int l = threadIdx.x; l < L; l += blockDim.x) state_at<int>(p, p.hRecvExpertCounts)[l] = sExpertCounts[l];
        for (int l = threadIdx.x; l <= L; l += blockDim.x) state_at<int>(p, p.hRecvExpertOffsets)[l] = sSegments[l];
        for (int i = threadIdx.x; i < L * W; i += blockDim.x) state_at<int>(p, p.hRecvSourceOffsets)[i] = sSourceOffsets[i];
        if (threadIdx.x == 0) {
            int used = 0;
            for (int l = 0; l < L; l++) used += sExpertCounts[l];
            *state_at<int>(p, p.hRecvTotal) = perExpert ? (packed ? sSegments[L] : used) : sBase[W];
        }
    }

    int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const bool scale = (p.flags & FLAG_SCALE_BY_WEIGHT) != 0;
    const i64 items = (i64)sBase[W] * ROW_VECS;
    for (i64 item = global_thread(); item < items; item += global_threads()) {
        const int g = (int)(item / ROW_VECS), v = (int)(item - (i64)g * ROW_VECS);
        const int s = find_bucket(sBase, W, g);
        const int i = g - sBase[s];
        const char* message = message_at(p, p.window, parity, s, i);
        const int token = *(const int*)message;
        const int4 value = ld_cv((const int4*)(message + HEADER_BYTES) + v);

        if (!perExpert) {
            const i64 index = NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)s * M + i : (i64)sBase[s] + i;
            char* row = NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? p.rows + s * p.rowsStride0 + i * p.rowsStride1 : p.rows + index * p.rowsStride0;
            ((int4*)row)[v] = value;
            if (v == 0) {
                sourceInfo[index * 3] = s; sourceInfo[index * 3 + 1] = token; sourceInfo[index * 3 + 2] = -1;
                for (int k = 0; k < K; k++) {
                    state_at<int>(p, p.hRecvTopkIds)[index * K + k] = ((const int*)(message + 16))[k];
                    state_at<float>(p, p.hRecvTopkWeights)[index * K + k] = ((const float*)(message + 16 + 4 * K))[k];
                }
            }
            continue;
        }

        // Expert-major: the row goes to every slot whose expert is here (read once, written per slot).
#pragma unroll 4
        for (int k = 0; k < K; k++) {
            const int position = ((const int*)(message + 16 + 8 * K))[k];
            if (position < 0) continue;
            const int l = ((const int*)(message + 16))[k] - p.rank * L;
            if (l < 0 || l >= L) continue;
            const int j = sSourceOffsets[l * W + s] + position;
            const i64 index = (i64)sSegments[l] + j;
            if (j >= (packed ? sExpertCounts[l] : capacity) || index >= p.receiveRows) continue;
            char* row = packed ? p.rows + index * p.rowsStride0 : p.rows + l * p.rowsStride0 + j * p.rowsStride1;
            ((int4*)row)[v] = scale ? scale_vec(value, ((const float*)(message + 16 + 4 * K))[k]) : value;
            if (v == 0) { sourceInfo[index * 3] = s; sourceInfo[index * 3 + 1] = token; sourceInfo[index * 3 + 2] = k; }
        }
    }

    // High-throughput expert-major: zero the padding rows of each segment.
    if (perExpert && packed) {
        const int lane = threadIdx.x & 31;
        const int warps = gridDim.x * NCCLEP_WARPS;
        for (int l = blockIdx.x * NCCLEP_WARPS + (threadIdx.x >> 5); l < L; l += warps) {
            for (int index = sSegments[l] + sExpertCounts[l]; index < sSegments[l + 1]; index++) {
                int4* row = (int4*)(p.rows + (i64)index * p.rowsStride0);
                for (int v = lane; v < ROW_VECS; v += 32) row[v] = make_int4(0, 0, 0, 0);
                if (lane < 3) sourceInfo[(i64)index * 3 + lane] = -1;
            }
        }
    }

    if (last_block_arrives(ctrl_u32(p, CTRL_TICKETS + 4)) && threadIdx.x == 0) {
        *ctrl_u32(p, CTRL_DISPATCH_SEQ) = seq;
        *ctrl_u32(p, CTRL_TICKETS + 4) = 0;
    }
}
