// Update: check the routing and fill the handle's send side (HostRankBackend.Update.cs is the reference).
// One block: a thread per expert and a thread per rank each walk the tokens in order, so every position
// is the same deterministic count the Host backend computes.
#include "ep_common.cuh"

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_update(const EpParams p) {
    const int T = p.numTokens, K = NCCLEP_TOPK, W = p.world, L = p.localExperts, E = p.numExperts;
    int* ids = state_at<int>(p, p.hTopkIds);
    float* weights = state_at<float>(p, p.hTopkWeights);
    int* slotPositions = state_at<int>(p, p.hSlotPositions);
    int* rankPositions = state_at<int>(p, p.hRankPositions);

    // Copy and check. A bad id is recorded and treated as "no expert", so nothing is written out of range.
    for (int i = threadIdx.x; i < T * K; i += blockDim.x) {
        const int t = i / K, k = i - t * K;
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
        ids[i] = e;
        weights[i] = ((const float*)(p.topkWeights + t * p.topkWeightsStride))[k];
        slotPositions[i] = -1;
    }
    for (int i = threadIdx.x; i < T * W; i += blockDim.x) rankPositions[i] = -1;
    if (threadIdx.x == 0) *state_at<int>(p, p.hNumTokens) = T;
    __syncthreads();

    int* sendExpertCounts = state_at<int>(p, p.hSendExpertCounts);
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        int count = 0;
        for (int t = 0; t < T; t++) {
#pragma unroll
            for (int k = 0; k < K; k++) {
                if (ids[t * K + k] == e) slotPositions[t * K + k] = count++;
            }
        }
        sendExpertCounts[e] = count;
    }

    int* sendRankCounts = state_at<int>(p, p.hSendRankCounts);
    for (int r = threadIdx.x; r < W; r += blockDim.x) {
        int count = 0;
        for (int t = 0; t < T; t++) {
            bool hit = false;
#pragma unroll
            for (int k = 0; k < K; k++) {
                const int e = ids[t * K + k];
                hit |= e >= 0 && e / L == r;
            }
            if (hit) rankPositions[t * W + r] = count++;
        }
        sendRankCounts[r] = count;
    }
}
