// Routing: one tile of UpdateTileTokens tokens checked and turned into the handle's send-side state
// (HostRankBackend.Update.cs is the reference). ncclep_update runs it per tile (ep_update.cu); a dispatch launch with
// FLAG_ROUTE runs the single tile of a call with up to TILE_TOKENS tokens in its block 0 and gates the other sending
// blocks on it (routing_ready), so a decode step's routing and dispatch are one launch.
#pragma once
#include "ep_common.cuh"

#define TILE_TOKENS 128
#define TILE_WORDS (TILE_TOKENS / 32)

__device__ __forceinline__ int bits_before(const u32* mask, int t) {
    const int word = t >> 5;
    int count = __popc(mask[word] & ((1u << (t & 31)) - 1u));
    for (int w = 0; w < word; w++) count += __popc(mask[w]);
    return count;
}

// Tile `tile` of p.numTokens tokens (p.topkIds, p.topkWeights): every (token, slot) sets its token's bit in a bitmask
// of its expert and of its expert's rank (atomicOr: order-independent); a slot's position inside the tile is the
// number of set bits before its token, and the tile's counts go to updateTiles. With `onlyTile` the positions are
// final, so it also writes the totals and the send lists (what ncclep_update_offsets does for several tiles).
// sMasks: (E + W) * TILE_WORDS words of shared memory. The whole block calls it; it ends without a barrier.
__device__ void route_tile(const EpParams& p, u32* sMasks, int tile, bool onlyTile) {
    const int T = p.numTokens, K = NCCLEP_TOPK, W = p.world, L = p.localExperts, E = p.numExperts;
    const int base = tile * TILE_TOKENS, count = max(0, min(TILE_TOKENS, T - base));
    int* ids = state_at<int>(p, p.hTopkIds);
    float* weights = state_at<float>(p, p.hTopkWeights);
    int* tileCounts = state_at<int>(p, p.hUpdateTiles) + (i64)tile * (E + W);

    for (int i = threadIdx.x; i < (E + W) * TILE_WORDS; i += blockDim.x) sMasks[i] = 0;
    if (tile == 0 && threadIdx.x == 0) *state_at<int>(p, p.hNumTokens) = T;
    __syncthreads();

    // Copy and check. A bad or repeated id is recorded and treated as "no expert": nothing goes out of range.
    for (int i = threadIdx.x; i < count * K; i += blockDim.x) {
        const int tl = i / K, k = i - tl * K, t = base + tl;
        const int* row = (const int*)(p.topkIds + t * p.topkIdsStride);
        int e = row[k];
        if (e < -1 || e >= E) {
            record_error(p, ERR_BAD_EXPERT, t, PHASE_UPDATE, k, e);
            e = -1;
        } else if (e >= 0) {
            for (int j = 0; j < k; j++) {
                if (row[j] == e) {
                    record_error(p, ERR_DUPLICATE_EXPERT, t, PHASE_UPDATE, k, e);
                    e = -1;
                    break;
                }
            }
        }
        ids[t * K + k] = e;
        weights[t * K + k] = ((const float*)(p.topkWeights + t * p.topkWeightsStride))[k];
        if (e >= 0) {
            atomicOr(&sMasks[e * TILE_WORDS + (tl >> 5)], 1u << (tl & 31));
            atomicOr(&sMasks[(E + e / L) * TILE_WORDS + (tl >> 5)], 1u << (tl & 31));
        }
    }
    __syncthreads();

    // Positions inside the tile (the offsets pass adds the earlier tiles' counts).
    int* slotPositions = state_at<int>(p, p.hSlotPositions);
    int* rankPositions = state_at<int>(p, p.hRankPositions);
    for (int i = threadIdx.x; i < count * K; i += blockDim.x) {
        const int tl = i / K, t = base + tl;
        const int e = ids[t * K + (i - tl * K)];
        slotPositions[t * K + (i - tl * K)] = e >= 0 ? bits_before(sMasks + e * TILE_WORDS, tl) : -1;
    }
    for (int i = threadIdx.x; i < count * W; i += blockDim.x) {
        const int tl = i / W, r = i - tl * W;
        const u32* mask = sMasks + (E + r) * TILE_WORDS;
        const bool hit = (mask[tl >> 5] >> (tl & 31)) & 1u;
        rankPositions[(base + tl) * W + r] = hit ? bits_before(mask, tl) : -1;
    }
    for (int i = threadIdx.x; i < E + W; i += blockDim.x) {
        int c = 0;
#pragma unroll
        for (int w = 0; w < TILE_WORDS; w++) c += __popc(sMasks[i * TILE_WORDS + w]);
        tileCounts[i] = c;
        if (onlyTile) {  // what ncclep_update_offsets's last tile writes: the totals
            if (i < E) state_at<int>(p, p.hSendExpertCounts)[i] = c;
            else state_at<int>(p, p.hSendRankCounts)[i - E] = c;
        }
    }
    if (onlyTile) {  // and its send lists (the earlier tiles' offsets are all 0)
        int* sendTokens = state_at<int>(p, p.hSendTokens);
        for (int i = threadIdx.x; i < count * W; i += blockDim.x) {
            const int tl = i / W, r = i - tl * W;
            const u32* mask = sMasks + (E + r) * TILE_WORDS;
            if ((mask[tl >> 5] >> (tl & 31)) & 1u) sendTokens[(i64)r * p.maxTokens + bits_before(mask, tl)] = tl;
        }
    }
}

__device__ __forceinline__ u32 ld_acquire_gpu(const u32* p) {
    u32 v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ void st_release_gpu(u32* p, u32 v) {
    asm volatile("st.release.gpu.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

// A dispatch-route launch that runs the send half: whether this block may read the handle's send-side state (counts,
// send lists, routing copy, positions). Always, without FLAG_ROUTE. With it (a forward dispatch that brings its own
// routing, p.numTokens <= TILE_TOKENS), block 0 first routes the call's single tile into the handle, then publishes
// "routing ready" = this operation's sequence number in the control block (CTRL_ROUTE_READY): barrier, fence, release
// at GPU scope (only this grid reads it). Every other sending block waits for that value (equality, as every flag;
// bounded, a time-out is recorded naming this rank and PHASE_UPDATE and the block sends nothing). The grid is
// resident all at once (GridResidency), so block 0 runs while they wait. Receiving blocks never call this: they read
// only the window and the caller's tokens, and this rank's own routing reaches them through its messages and count
// flag, which its senders release after this gate. SetActiveRanks clears the word with the sequence numbers, so a
// value left by an operation before a restart cannot equal a new operation's number (docs/kernels.md).
__device__ bool routing_ready(const EpParams& p, u32 seq, u32* shared) {
    if ((p.flags & FLAG_ROUTE) == 0) return true;
    u32* ready = ctrl_u32(p, CTRL_ROUTE_READY);
    __shared__ int sReady;
    if (blockIdx.x == 0) {
        route_tile(p, shared, 0, true);
        __syncthreads();
        if (threadIdx.x == 0) {
            __threadfence();
            st_release_gpu(ready, seq);
        }
        return true;
    }
    if (threadIdx.x == 0) {
        const u64 start = globaltimer();
        bool arrived;
        while (!(arrived = ld_acquire_gpu(ready) == seq) && (i64)(globaltimer() - start) <= p.timeoutNs) {
        }
        if (!arrived) {
            // Block 0 returns without routing when a survivor masked this rank after this block's own check: say so.
            const int by = ld_cv((const int*)(p.window + CTRL_MASKED_BY));
            if (by != 0) record_error(p, ERR_MASKED, by - 1, PHASE_DISPATCH_RECEIVE, (int)seq, 0);
            else record_error(p, ERR_TIMEOUT, p.rank, PHASE_UPDATE, (int)seq, 0);
        }
        sReady = arrived;
    }
    __syncthreads();
    return sReady != 0;
}
