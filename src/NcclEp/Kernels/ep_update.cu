// Update: check the routing and fill the handle's send side (HostRankBackend.Update.cs is the reference).
// One block walks the tokens in tiles of 32·tileWords. Per tile, every (token, slot) sets its token's bit
// in a bitmask of its expert and of its expert's rank (atomicOr: the result is order-independent); a
// slot's position is then the number of set bits before its token — the same deterministic count in
// token order the Host backend makes — plus the running count of earlier tiles.
#include "ep_common.cuh"

__device__ __forceinline__ int bits_before(const u32* mask, int t) {
    const int word = t >> 5;
    int count = __popc(mask[word] & ((1u << (t & 31)) - 1u));
    for (int w = 0; w < word; w++) count += __popc(mask[w]);
    return count;
}

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_update(const EpParams p) {
    extern __shared__ u32 sShared[];
    const int T = p.numTokens, K = NCCLEP_TOPK, W = p.world, L = p.localExperts, E = p.numExperts;
    const int words = p.updateTileWords, tileTokens = 32 * words;
    u32* sMasks = sShared;                            // [E + W][words]: experts, then ranks
    int* sCounts = (int*)(sShared + (E + W) * words); // [E + W] running counts
    int* ids = state_at<int>(p, p.hTopkIds);
    float* weights = state_at<float>(p, p.hTopkWeights);
    int* slotPositions = state_at<int>(p, p.hSlotPositions);
    int* rankPositions = state_at<int>(p, p.hRankPositions);

    for (int i = threadIdx.x; i < E + W; i += blockDim.x) sCounts[i] = 0;
    if (threadIdx.x == 0) *state_at<int>(p, p.hNumTokens) = T;

    for (int base = 0; base < T; base += tileTokens) {
        const int tile = min(tileTokens, T - base);
        for (int i = threadIdx.x; i < (E + W) * words; i += blockDim.x) sMasks[i] = 0;
        __syncthreads();

        // Copy and check. A bad or repeated id is recorded and treated as "no expert": nothing goes out of range.
        for (int i = threadIdx.x; i < tile * K; i += blockDim.x) {
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
                atomicOr(&sMasks[e * words + (tl >> 5)], 1u << (tl & 31));
                atomicOr(&sMasks[(E + e / L) * words + (tl >> 5)], 1u << (tl & 31));
            }
        }
        __syncthreads();

        for (int i = threadIdx.x; i < tile * K; i += blockDim.x) {
            const int tl = i / K, t = base + tl;
            const int e = ids[t * K + (i - tl * K)];
            slotPositions[t * K + (i - tl * K)] = e >= 0 ? sCounts[e] + bits_before(sMasks + e * words, tl) : -1;
        }
        for (int i = threadIdx.x; i < tile * W; i += blockDim.x) {
            const int tl = i / W, r = i - tl * W;
            const u32* mask = sMasks + (E + r) * words;
            const bool hit = (mask[tl >> 5] >> (tl & 31)) & 1u;
            rankPositions[(base + tl) * W + r] = hit ? sCounts[E + r] + bits_before(mask, tl) : -1;
        }
        __syncthreads();

        for (int i = threadIdx.x; i < E + W; i += blockDim.x) {
            int count = 0;
            for (int w = 0; w < words; w++) count += __popc(sMasks[i * words + w]);
            sCounts[i] += count;
        }
        __syncthreads();
    }

    for (int e = threadIdx.x; e < E; e += blockDim.x) state_at<int>(p, p.hSendExpertCounts)[e] = sCounts[e];
    for (int r = threadIdx.x; r < W; r += blockDim.x) state_at<int>(p, p.hSendRankCounts)[r] = sCounts[E + r];
}
