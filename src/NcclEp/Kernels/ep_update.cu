// Update: check the routing and fill the handle's send side (HostRankBackend.Update.cs is the reference).
// Two launches over tiles of UpdateTileTokens tokens, one block per tile:
//   ncclep_update          per tile, every (token, slot) sets its token's bit in a bitmask of its expert and of
//                          its expert's rank (atomicOr: order-independent); a slot's position inside the tile is
//                          the number of set bits before its token; the tile's counts go to updateTiles.
//   ncclep_update_offsets  each tile adds the counts of the tiles before it, so every position is the same
//                          deterministic count in token order the Host backend makes; the last tile writes totals.
// One tile (up to 128 tokens: every low-latency decode step) needs no second pass: its positions are already final,
// so ncclep_update writes the totals and send lists itself and the host launches nothing else (one launch per Update).
// The tile itself is route_tile (ep_route.cuh), which a dispatch that brings its own routing also runs (FLAG_ROUTE).
#include "ep_common.cuh"
#include "ep_route.cuh"

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_update(const EpParams p) {
    wait_for_previous_kernel();
    TIMELINE_START(SLOT_UPDATE);
    extern __shared__ u32 sMasks[];  // [E + W][TILE_WORDS]: experts, then ranks
    route_tile(p, sMasks, blockIdx.x, gridDim.x == 1);
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
