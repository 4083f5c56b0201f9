// Update: check the routing and fill the handle's send side (HostRankBackend.Update.cs is the reference).
// Two launches over tiles of UpdateTileTokens tokens, one block per tile:
//   ncclep_update          per tile, every (token, slot) sets its token's bit in a bitmask of its expert and of
//                          its expert's rank (atomicOr: order-independent); a slot's position inside the tile is
//                          the number of set bits before its token; the tile's counts go to updateTiles.
//   ncclep_update_offsets  each tile adds the counts of the tiles before it, so every position is the same
//                          deterministic count in token order the Host backend makes; the last tile writes totals.
// One tile (up to 128 tokens: every low-latency decode step) needs no second pass: its positions are already final,
// so ncclep_update writes the totals and send lists itself and the host launches nothing else (one launch per Update).
#include "ep_common.cuh"

#define TILE_TOKENS 128
#define TILE_WORDS (TILE_TOKENS / 32)

__device__ __forceinline__ int bits_before(const u32* mask, int t) {
    const int word = t >> 5;
    int count = __popc(mask[word] & ((1u << (t & 31)) - 1u));
    for (int w = 0; w < word; w++) count += __popc(mask[w]);
    return count;
}

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_update(const EpParams p) {
    wait_for_previous_kernel();
    TIMELINE_START(SLOT_UPDATE);
    extern __shared__ u32 sMasks[];  // [E + W][TILE_WORDS]: experts, then ranks
    const int T = p.numTokens, K = NCCLEP_TOPK, W = p.world, L = p.localExperts, E = p.numExperts;
    const int tile = blockIdx.x, base = tile * TILE_TOKENS, count = max(0, min(TILE_TOKENS, T - base));
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
    const bool onlyTile = gridDim.x == 1;
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
    TIMELINE_END(SLOT_UPDATE, 0, 0);
}

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_update_offsets(const EpParams p) {
    wait_for_previous_kernel();
    TIMELINE_START(SLOT_OFFSETS);
    extern __shared__ int sOffsets[];  // [E + W]: rows of earlier tiles per expert, then per rank
    const int T = p.numTokens, K = NCCLEP_TOPK, W = p.world, E = p.numExperts, M = p.maxTokens;
    const int tile = blockIdx.x, base = tile * TILE_TOKENS, count = max(0, min(TILE_TOKENS, T - base));
    const int* tileCounts = state_at<int>(p, p.hUpdateTiles);
    const bool last = tile == (int)gridDim.x - 1;

    for (int c = threadIdx.x; c < E + W; c += blockDim.x) {
        int offset = 0;
        for (int j = 0; j < tile; j++) offset += tileCounts[(i64)j * (E + W) + c];
        sOffsets[c] = offset;
        if (last) {
            const int total = offset + tileCounts[(i64)tile * (E + W) + c];
            if (c < E) state_at<int>(p, p.hSendExpertCounts)[c] = total;
            else state_at<int>(p, p.hSendRankCounts)[c - E] = total;
        }
    }
    __syncthreads();

    int* slotPositions = state_at<int>(p, p.hSlotPositions);
    int* rankPositions = state_at<int>(p, p.hRankPositions);
    int* sendTokens = state_at<int>(p, p.hSendTokens);
    const int* ids = state_at<int>(p, p.hTopkIds);
    for (int i = threadIdx.x; i < count * K; i += blockDim.x) {
        const int at = base * K + i, e = ids[at];
        if (e >= 0) slotPositions[at] += sOffsets[e];
    }
    for (int i = threadIdx.x; i < count * W; i += blockDim.x) {
        const int at = base * W + i, r = i % W;
        const int position = rankPositions[at];
        if (position < 0) continue;
        rankPositions[at] = position + sOffsets[E + r];
        sendTokens[(i64)r * M + position + sOffsets[E + r]] = base + i / W;
    }
    TIMELINE_END(SLOT_OFFSETS, 0, 0);
}
