// The combine route's reducing side and its kernel (the sending side, per-rank partials and the row addressing:
// ep_combine.cu, which the joined source puts first): wait for the chunks holding a home token's terms, sum them in
// fp32 in a fixed order, round once; and run send and reduce as the steps say.
#include "ep_common.cuh"

// Thread r: waits for every chunk from rank r that holds a row of tokens [t0, t1); false if one timed out.
__device__ bool rank_rows_arrived(const EpParams& p, u32 seq, int parity, int r, int t0, int t1) {
    const int W = p.world;
    const int* rankPositions = state_at<int>(p, p.hRankPositions);
    int lo = 0x7FFFFFFF, hi = -1;
    for (int t = t0; t < t1; t++) {
        const int position = rankPositions[t * W + r];
        if (position >= 0) { lo = min(lo, position); hi = max(hi, position); }
    }
    if (hi < 0) return true;
    const int n = min(state_at<int>(p, p.hSendRankCounts)[r], p.maxTokens);
    for (int c = chunk_of(n, lo); c <= chunk_of(n, hi); c++) {
        u64 word;
        if (!wait_sequence(p, combine_chunk_flag(p, p.window, parity, r, c), seq, r, PHASE_COMBINE_RECEIVE, &word)) return false;
    }
    return true;
}

// Whether message i of source s has a term here (per-rank partials): one of its slots holds a sound row, as
// message_slots finds them. send_partial writes no partial for a message without one, so its slot is not read.
__device__ __forceinline__ bool message_has_terms(const EpParams& p, int s, i64 message) {
    int token;
    for (int k = 0; k < NCCLEP_TOPK; k++)
        if (slot_term(p, s, message, k, &token) >= 0) return true;
    return false;
}

// Term i of home token t: the row holding it (and its weight), or null when there is none or its rank failed.
// A term computed on this rank is read straight from the caller's rows (its dispatch-output row); selfBase is
// the first Flat row of this rank's own tokens. This rank's own per-rank partial is in its own window, where its
// sending warps wrote it (send_chunks_home).
__device__ __forceinline__ const int4* term_row(const EpParams& p, int parity, int t, int i, const int* sFailed, int selfBase, float* w) {
    const int* active = active_mask(p);
    const int W = p.world, M = p.maxTokens;
    const int* rankPositions = state_at<int>(p, p.hRankPositions);
    if (PER_SLOT_TERMS) {
        const int K = NCCLEP_TOPK;
        const int e = state_at<int>(p, p.hTopkIds)[t * K + i];
        if (e < 0) return nullptr;
        const int r = e / p.localExperts;
        if (!active[r] || sFailed[r]) return nullptr;
        *w = state_at<float>(p, p.hTopkWeights)[t * K + i];
        if (r != p.rank) return incoming_row(p, r, parity, t, i);
        const int index = state_at<int>(p, p.hRecvMessageRows)[((i64)p.rank * M + rankPositions[t * W + p.rank]) * K + i];
        return index >= 0 ? output_row(p, index) : nullptr;
    }
    const int position = rankPositions[t * W + i];
    if (position < 0 || !active[i] || sFailed[i]) return nullptr;
    if (i != p.rank) return incoming_row(p, i, parity, t, i);
    if (NCCLEP_COMBINE_PER_RANK) return message_has_terms(p, p.rank, (i64)p.rank * M + position) ? incoming_row(p, i, parity, t, i) : nullptr;
    return output_row(p, NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)p.rank * M + position : (i64)selfBase + position);
}

// Home token t, the lane's vectors v0 + 32u of one segment: the sum of its terms in order, in fp32, rounded once, into
// home. A warp per (token, segment): lane i finds term i's row once (and term i + 32's), then every lane sums its
// REDUCE_UNROLL vectors over the terms in order, loads of two terms in flight together.
__device__ __forceinline__ void reduce_segment(const EpParams& p, int parity, int t, int v0, const int* sFailed, int selfBase) {
    const int W = p.world, lane = threadIdx.x & 31;
    const bool weighted = PER_SLOT_TERMS && (p.flags & FLAG_WEIGHTED) != 0;
    const int terms = PER_SLOT_TERMS ? NCCLEP_TOPK : W;
    float wLow = 0.f, wHigh = 0.f;
    const int4* low = lane < terms ? term_row(p, parity, t, lane, sFailed, selfBase, &wLow) : nullptr;
    const int4* high = lane + 32 < terms ? term_row(p, parity, t, lane + 32, sFailed, selfBase, &wHigh) : nullptr;
    float acc[REDUCE_UNROLL][ELEMS_PER_VEC];
#pragma unroll
    for (int u = 0; u < REDUCE_UNROLL; u++)
#pragma unroll
        for (int x = 0; x < ELEMS_PER_VEC; x++) acc[u][x] = 0.f;

    // Two terms per step, both loaded before either is added (the sum keeps term order).
    for (int i = 0; i < terms; i += 2) {
        const int4* rowA = (const int4*)__shfl_sync(0xFFFFFFFFu, (u64)(i < 32 ? low : high), i & 31);
        const float wA = __shfl_sync(0xFFFFFFFFu, i < 32 ? wLow : wHigh, i & 31);
        const int j = i + 1 < terms ? i + 1 : i;
        const int4* rowB = (const int4*)__shfl_sync(0xFFFFFFFFu, (u64)(j < 32 ? low : high), j & 31);
        const float wB = __shfl_sync(0xFFFFFFFFu, j < 32 ? wLow : wHigh, j & 31);
        if (j == i) rowB = nullptr;
        int4 ya[REDUCE_UNROLL], yb[REDUCE_UNROLL];
#pragma unroll
        for (int u = 0; u < REDUCE_UNROLL; u++) {
            if (v0 + 32 * u >= ROW_VECS) continue;
            if (rowA != nullptr) ya[u] = ld_cg(rowA + v0 + 32 * u);
            if (rowB != nullptr) yb[u] = ld_cg(rowB + v0 + 32 * u);
        }
        if (rowA != nullptr) accumulate(acc, ya, wA, weighted, v0);
        if (rowB != nullptr) accumulate(acc, yb, wB, weighted, v0);
    }
    int4* home = (int4*)(p.home + t * p.homeStride);
#pragma unroll
    for (int u = 0; u < REDUCE_UNROLL; u++) if (v0 + 32 * u < ROW_VECS) home[v0 + 32 * u] = pack(acc[u]);
}

// Warp jobs: lane r (and r + 32) waits for the chunk from rank r holding home token t's row, if it has one; a time-out
// marks r failed for the block (its terms are skipped from then on). The warp then may read every row of t.
__device__ __forceinline__ void token_rows_arrived(const EpParams& p, u32 seq, int parity, int t, int* sFailed) {
    const int W = p.world;
    const int* active = active_mask(p);
    for (int r = threadIdx.x & 31; r < W; r += 32) {
        if (!active[r] || (r == p.rank && !NCCLEP_COMBINE_PER_RANK) || is_network(p, r) || sFailed[r]) continue;
        const int position = state_at<int>(p, p.hRankPositions)[t * W + r];
        if (position < 0) continue;
        const int n = min(state_at<int>(p, p.hSendRankCounts)[r], p.maxTokens);
        u64 word;
        if (!wait_sequence(p, combine_chunk_flag(p, p.window, parity, r, chunk_of(n, position)), seq, r, PHASE_COMBINE_RECEIVE, &word)) sFailed[r] = 1;
    }
    __syncwarp();
}

__device__ void reduce_tokens(const EpParams& p, u32 seq, int parity, int block, int blocks) {
    __shared__ int sFailed[NCCLEP_MAX_WORLD];
    const int W = p.world, T = p.numTokens;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int* active = active_mask(p);

    __shared__ int sSelfBase;
    if (threadIdx.x == 0) {
        int base = 0;
        for (int s = 0; s < p.rank; s++) base += state_at<int>(p, p.hRecvRankCounts)[s];
        sSelfBase = base;
    }
    // Network peers' rows all came with their slice: its in-band sequence says whether it is this operation's. Block 0
    // also waits for every live LSA peer's presence (one wait per peer per operation): a peer that has none of this
    // rank's tokens' rows is waited for here only.
    for (int r = threadIdx.x; r < W; r += blockDim.x) {
        u64 word;
        bool failed = false;
        if (active[r] && is_network(p, r))
            failed = !wait_sequence(p, (const u64*)net_combine_slice(p, p.netIn, r), seq, r, PHASE_COMBINE_RECEIVE, &word);
        else if (active[r] && r != p.rank && block == 0)
            failed = !wait_sequence(p, presence_flag(p, p.window, parity, r), seq, r, PHASE_COMBINE_RECEIVE, &word);
        sFailed[r] = failed;
    }

    if (NCCLEP_WARP_JOBS) {
        // A warp per (token, segment), over the whole reducing grid: it waits for its token's rows itself.
        __syncthreads();
        for (int item = first_warp_job(block, blocks); item < T * SEGMENTS; item += warp_job_stride(blocks)) {
            const int t = item / SEGMENTS;
            token_rows_arrived(p, seq, parity, t, sFailed);
            reduce_segment(p, parity, t, (item % SEGMENTS) * SEGMENT_VECS + lane, sFailed, sSelfBase);
        }
        return;
    }
    const int perJob = max(1, min(MAX_TOKENS_PER_JOB, (T + blocks - 1) / blocks));
    const int jobs = (T + perJob - 1) / perJob;
    for (int job = block; job < jobs; job += blocks) {
        const int t0 = job * perJob, t1 = min(T, t0 + perJob);
        __syncthreads();
        for (int r = threadIdx.x; r < W; r += blockDim.x)
            if (active[r] && (r != p.rank || NCCLEP_COMBINE_PER_RANK) && !is_network(p, r) && !sFailed[r] && !rank_rows_arrived(p, seq, parity, r, t0, t1)) sFailed[r] = 1;
        __syncthreads();
        for (int item = warp; item < (t1 - t0) * SEGMENTS; item += NCCLEP_WARPS)
            reduce_segment(p, parity, t0 + item / SEGMENTS, (item % SEGMENTS) * SEGMENT_VECS + lane, sFailed, sSelfBase);
    }
}

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS, NCCLEP_BLOCKS_PER_SM) ncclep_combine(const EpParams p) {
    wait_for_previous_kernel();
    const u32 seq = *ctrl_u32(p, CTRL_COMBINE_SEQ) + 1;
    TIMELINE_START(SLOT_COMBINE(seq));
    if (BULK_COMBINE_SEND) bulk_setup();  // masked_out's barrier follows
    if (masked_out(p, PHASE_COMBINE_RECEIVE, seq)) return;  // before any store to a peer
    const int parity = seq & 1;
    const bool send = (p.steps & STEP_SEND) != 0, receive = (p.steps & STEP_RECEIVE) != 0;
    const int G = gridDim.x, b = blockIdx.x;
    if (send && b == 0) publish_presence(p, seq, parity);

    if (send && receive && G > 1) {
        const int senders = sending_blocks(G, COMBINE_SENDERS_PER_8);
        if (b < senders) send_chunks_home(p, seq, parity, b, senders);
        else reduce_tokens(p, seq, parity, b - senders, G - senders);
    } else {
        if (send) send_chunks_home(p, seq, parity, b, G);
        if (receive) reduce_tokens(p, seq, parity, b, G);
    }

    if (receive && last_block_arrives(ctrl_u32(p, CTRL_TICKETS + 12)) && threadIdx.x == 0) {
        *ctrl_u32(p, CTRL_COMBINE_SEQ) = seq;
        *ctrl_u32(p, CTRL_TICKETS + 12) = 0;
    }
    TIMELINE_END(SLOT_COMBINE(seq), !(send && receive && G > 1) ? 0 : b < sending_blocks(G, COMBINE_SENDERS_PER_8) ? 1 : 2, seq);
}
