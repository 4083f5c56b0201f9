// The combine route (Combine forward, Dispatch backward): HostRankBackend.CombineRoute.cs is the reference.
// Block 0 first releases this operation's presence flag into every live LSA peer's window; reducing block 0 waits
// for every live LSA peer's presence before the kernel can end, even when that peer sends no rows here, so no rank
// is ever more than one combine-route operation ahead of a peer and a buffer half is never written while its last
// user still reads it (docs/kernels.md, "Protocol and memory ordering"). As in dispatch, the grid splits into
// sending and reducing blocks:
//   send:   (chunk, source) jobs over the messages each source sent here in the dispatch; a warp per row
//           answering a message copies it to (token, slot) — or (token, this rank) — on the source rank, in
//           16-byte vectors; with NCCLEP_COMBINE_PER_RANK (expert-major per-rank partials) a warp per message
//           sums its local slots' rows in fp32 and sends that partial, rounded once, to (token, this rank) —
//           this rank's own messages' partials too, into its own window; then the chunk's flag is released.
//   reduce: jobs of up to MAX_TOKENS_PER_JOB home tokens (fewer with few tokens, so every block works); a
//           thread per peer waits for the chunks that hold those tokens' rows, then a warp per (token, segment
//           of the row) sums the terms in fp32 in a fixed order (slot order for expert-major, rank order
//           for the per-rank layouts and for per-rank partials), rounding once.
// With network peers the host runs the send half, NCCL's send/recv of the combine slices, then the reduce half.
#include "ep_common.cuh"

#define REDUCE_UNROLL 4
#define SEGMENT_VECS (32 * REDUCE_UNROLL)
#define SEGMENTS ((ROW_VECS + SEGMENT_VECS - 1) / SEGMENT_VECS)
// 8 rather than 16: the last job, reduced after its last row lands, is half as long (HT Flat combine back-to-back
// 191 -> 187 us on 2x H200, bench/results/raw/h200-x2-run18).
#define MAX_TOKENS_PER_JOB 8
// Expert-major rows go home one per (token, top-k slot), unless per-rank partials send one per (token, rank).
#define PER_SLOT_TERMS (NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR && !NCCLEP_COMBINE_PER_RANK)
// Warps that share one message's rows in low latency's warp jobs (a team, ep_common.cuh): per-slot expert-major answers
// a message with up to K rows (about 4 at W = 2, top-8), which the team's warps split, a row each; every other layout
// sends one row (or one partial) per message, which the team's threads share.
#define COMBINE_TEAM_WARPS (NCCLEP_WARP_JOBS ? LL_TEAM_WARPS : 1)

__device__ __forceinline__ char* combine_row(const EpParams& p, char* window, int parity, int token, int slot) {
    return window + p.offCombineRows + ((i64)(parity * p.maxTokens + token) * p.combineSlots + slot) * p.rowBytes;
}

__device__ __forceinline__ u64* presence_flag(const EpParams& p, char* window, int parity, int source) {
    return (u64*)(window + p.offCombineFlags + ((i64)parity * p.world + source) * 8);
}

// Block 0, first thing after the mask check: one st.release.sys per live LSA peer (network peers' exchange is matched by
// NCCL). It says "this rank finished its previous combine-route operation": stream order put that kernel's every
// access before this store.
__device__ void publish_presence(const EpParams& p, u32 seq, int parity) {
    const int* active = active_mask(p);
    for (int r = threadIdx.x; r < p.world; r += blockDim.x)
        if (active[r] && r != p.rank && !is_network(p, r)) st_release_sys(presence_flag(p, p.peers[r], parity, p.rank), (u64)seq << 32);
}

__device__ __forceinline__ u64* combine_chunk_flag(const EpParams& p, char* window, int parity, int source, int chunk) {
    return chunk_flag(window, p.offCombineChunkFlags, p.world, parity, source, chunk);
}

// Where the expert output for (token, slot) goes on source s: s's window, or s's out slice (network peers get
// S = netCombineSlots rows per token: one per top-k slot for per-slot expert-major, one otherwise).
__device__ __forceinline__ int4* outgoing_row(const EpParams& p, int s, int parity, int token, int slot) {
    if (!is_network(p, s)) return (int4*)combine_row(p, p.peers[s], parity, token, slot);
    const int column = PER_SLOT_TERMS ? slot : 0;
    return (int4*)(net_combine_slice(p, p.netOut, s) + p.netHeaderBytes + ((i64)token * p.netCombineSlots + column) * p.rowBytes);
}

// The expert output for (token, slot) that rank r sent here.
__device__ __forceinline__ const int4* incoming_row(const EpParams& p, int r, int parity, int token, int slot) {
    if (!is_network(p, r)) return (const int4*)combine_row(p, p.window, parity, token, slot);
    const int column = PER_SLOT_TERMS ? slot : 0;
    return (const int4*)(net_combine_slice(p, p.netIn, r) + p.netHeaderBytes + ((i64)token * p.netCombineSlots + column) * p.rowBytes);
}

// Dispatch-output row `index` (the numbering of recvSourceInfo) in the caller's rows tensor.
__device__ __forceinline__ const int4* output_row(const EpParams& p, i64 index) {
    if (NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR && NCCLEP_MODE == MODE_LL) {
        const i64 capacity = (i64)p.world * p.maxTokens;
        const i64 l = index / capacity;
        return (const int4*)(p.rows + l * p.rowsStride0 + (index - l * capacity) * p.rowsStride1);
    }
    if (NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR) {
        const i64 s = index / p.maxTokens;
        return (const int4*)(p.rows + s * p.rowsStride0 + (index - s * p.maxTokens) * p.rowsStride1);
    }
    return (const int4*)(p.rows + index * p.rowsStride0);
}

// acc[u] += (w ·) y[u] for the lane's vectors v0 + 32u of the row, in fp32, rounded per operation like the Host.
__device__ __forceinline__ void accumulate(float (&acc)[REDUCE_UNROLL][ELEMS_PER_VEC], const int4 (&y)[REDUCE_UNROLL], float w, bool weighted, int v0) {
#pragma unroll
    for (int u = 0; u < REDUCE_UNROLL; u++) {
        if (v0 + 32 * u >= ROW_VECS) continue;
        float f[ELEMS_PER_VEC];
        unpack(y[u], f);
        if (weighted) {
#pragma unroll
            for (int x = 0; x < ELEMS_PER_VEC; x++) acc[u][x] = __fadd_rn(acc[u][x], __fmul_rn(w, f[x]));
        } else {
#pragma unroll
            for (int x = 0; x < ELEMS_PER_VEC; x++) acc[u][x] = __fadd_rn(acc[u][x], f[x]);
        }
    }
}

// Per-rank partials: the dispatch-output row of slot k of message `message` from source s if its expert is here and
// its row's source info is sound (this source, a token in range; *token gets it), else -1. The one test of "this slot
// is a term" for the sender (message_slots) and the reducer (message_has_terms), so they cannot disagree.
__device__ __forceinline__ int slot_term(const EpParams& p, int s, i64 message, int k, int* token) {
    const int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const int at = state_at<int>(p, p.hRecvMessageRows)[message * NCCLEP_TOPK + k];
    const int t = at >= 0 ? sourceInfo[(i64)at * 3 + 1] : -1;
    *token = t;
    return at >= 0 && sourceInfo[(i64)at * 3] == s && t >= 0 && t < p.maxTokens ? at : -1;
}

// Per-rank partials (HostRankBackend.Partials.cs): lane k < K takes slot k of message `message` from source s, if
// its expert is here and its row's source info is sound (this source, a token in range). Returns the lanes holding
// such a slot (the message's terms, in slot order from the lowest bit); *token is the first one's token.
__device__ __forceinline__ unsigned message_slots(const EpParams& p, int s, i64 message, int lane, int* index, float* w, int* token) {
    const int K = NCCLEP_TOPK;
    int myIndex = -1, myToken = -1;
    float myWeight = 0.f;
    if (lane < K) {
        const int at = slot_term(p, s, message, lane, &myToken);
        if (at >= 0) {
            myIndex = at;
            myWeight = state_at<float>(p, p.hRecvTopkWeights)[message * K + lane];
        }
    }
    const unsigned slots = __ballot_sync(0xFFFFFFFFu, myIndex >= 0);
    *index = myIndex;
    *w = myWeight;
    *token = slots != 0 ? __shfl_sync(0xFFFFFFFFu, myToken, __ffs(slots) - 1) : -1;
    return slots;
}

// partial[u] = Σ over `slots` ascending of fl(w·y) (weighted) or y, for the lane's vectors v0 + 32u, in fp32. The whole
// warp calls it (the slots' rows and weights are shuffled from the lanes holding them).
__device__ __forceinline__ void message_partial(const EpParams& p, unsigned slots, int index, float w, bool weighted, int v0,
                                                float (&partial)[REDUCE_UNROLL][ELEMS_PER_VEC]) {
#pragma unroll
    for (int u = 0; u < REDUCE_UNROLL; u++)
#pragma unroll
        for (int x = 0; x < ELEMS_PER_VEC; x++) partial[u][x] = 0.f;
    for (unsigned rest = slots; rest != 0; rest &= rest - 1) {
        const int k = __ffs(rest) - 1;
        const int at = __shfl_sync(0xFFFFFFFFu, index, k);
        const float wk = __shfl_sync(0xFFFFFFFFu, w, k);
        const int4* row = output_row(p, at);
        int4 y[REDUCE_UNROLL];
#pragma unroll
        for (int u = 0; u < REDUCE_UNROLL; u++) if (v0 + 32 * u < ROW_VECS) y[u] = __ldg(row + v0 + 32 * u);
        accumulate(partial, y, wk, weighted, v0);
    }
}

// Message i of source s: its partial, rounded once to the row type, to (token, this rank) on s. A warp per message, or
// the `warps` warps of a team, each its share of the row's segments (this warp is `member` of them).
__device__ __forceinline__ void send_partial(const EpParams& p, int s, int i, int parity, int lane, bool weighted, int member = 0, int warps = 1) {
    int index, token;
    float w;
    const unsigned slots = message_slots(p, s, (i64)s * p.maxTokens + i, lane, &index, &w, &token);
    if (slots == 0) return;
    int4* dst = outgoing_row(p, s, parity, token, p.rank);
    // The loop bound is the same for every lane: message_partial's shuffles need the whole warp.
    for (int base = member * SEGMENT_VECS; base < ROW_VECS; base += warps * SEGMENT_VECS) {
        const int v0 = base + lane;
        float partial[REDUCE_UNROLL][ELEMS_PER_VEC];
        message_partial(p, slots, index, w, weighted, v0, partial);
#pragma unroll
        for (int u = 0; u < REDUCE_UNROLL; u++) if (v0 + 32 * u < ROW_VECS) dst[v0 + 32 * u] = pack(partial[u]);
    }
}

// Row `index` home to (token, slot) on source s, if its source info is sound: by `threads` threads (a warp, or a team),
// this one `thread` among them.
__device__ __forceinline__ void send_row(const EpParams& p, i64 index, int s, int parity, int thread, int threads) {
    const int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const int token = sourceInfo[index * 3 + 1];
    const int slot = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? sourceInfo[index * 3 + 2] : p.rank;
    if (sourceInfo[index * 3] != s || token < 0 || token >= p.maxTokens || slot < 0 || slot >= p.combineSlots) return;
    int4* dst = outgoing_row(p, s, parity, token, slot);
    const int4* from = output_row(p, index);
    for (int v0 = thread; v0 < ROW_VECS; v0 += threads * COPY_UNROLL) {
        int4 x[COPY_UNROLL];
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) if (v0 + threads * u < ROW_VECS) x[u] = __ldg(from + v0 + threads * u);
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) if (v0 + threads * u < ROW_VECS) dst[v0 + threads * u] = x[u];
    }
}

__device__ void send_chunks_home(const EpParams& p, u32 seq, int parity, int block, int blocks) {
    __shared__ int sBase[NCCLEP_MAX_WORLD + 1];
    const int K = NCCLEP_TOPK, W = p.world, M = p.maxTokens;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int* active = active_mask(p);
    const int* counts = state_at<int>(p, p.hRecvRankCounts);
    const int* messageRows = state_at<int>(p, p.hRecvMessageRows);

    warp0_exclusive_scan(counts, sBase, W);  // Flat: the first row of each source
    // A network peer's in-band flag travels with its slice, written before the rows (NCCL sends after the kernel).
    if (block == 0)
        for (int r = threadIdx.x; r < W; r += blockDim.x)
            if (active[r] && is_network(p, r)) *(u64*)net_combine_slice(p, p.netOut, r) = (u64)seq << 32;
    __syncthreads();

    const bool warpJobs = NCCLEP_WARP_JOBS;
    // Block jobs: the block's warps share a chunk's rows, then thread 0 releases its flag after a barrier. Warp jobs (low
    // latency): a team (COMBINE_TEAM_WARPS warps) sends the rows answering one message (a chunk) and releases its flag.
    const Team team = team_of(COMBINE_TEAM_WARPS);
    for (int job = warpJobs ? first_team_job(team, block, blocks) : block; job < chunk_count(M) * W;
         job += warpJobs ? team_job_stride(COMBINE_TEAM_WARPS, blocks) : blocks) {
        const int c = job / W, s = job - c * W;
        // This rank's own rows are read where they are (term_row); its own per-rank partial is written into its own
        // window's slot (token, this rank) with its chunk flag, like a peer's, while the peers' partials travel.
        if (!active[s] || (s == p.rank && !NCCLEP_COMBINE_PER_RANK)) continue;
        const int n = min(counts[s], M);
        if (n <= 0 || c >= chunk_count(n)) continue;  // no such chunk: the home rank does not wait for it either
        const int begin = chunk_begin(n, c), end = chunk_begin(n, c + 1);
        // Who shares the chunk: the block's warps (block jobs) or the team's.
        const int member = warpJobs ? team.member : warp, members = warpJobs ? COMBINE_TEAM_WARPS : NCCLEP_WARPS;
        if (NCCLEP_COMBINE_PER_RANK) {
            // A message's local slots' rows reduced to one partial: a warp per message, or a team's warps per segment.
            if (warpJobs) {
                for (int i = begin; i < end; i++) send_partial(p, s, i, parity, lane, (p.flags & FLAG_WEIGHTED) != 0, team.member, COMBINE_TEAM_WARPS);
            } else {
                for (int i = begin + warp; i < end; i += NCCLEP_WARPS) send_partial(p, s, i, parity, lane, (p.flags & FLAG_WEIGHTED) != 0);
            }
        } else if (NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR) {
            // A warp per (message, slot): the rows answering one message spread over the warps that share the chunk.
            for (int item = begin * K + member; item < end * K; item += members) {
                const int index = messageRows[(i64)s * M * K + item];
                if (index >= 0) send_row(p, index, s, parity, lane, 32);
            }
        } else if (warpJobs) {
            // A message's one row, shared by the team's threads.
            for (int i = begin; i < end; i++)
                send_row(p, NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)s * M + i : (i64)sBase[s] + i, s, parity, team.thread, team.threads);
        } else {
            for (int i = begin + warp; i < end; i += NCCLEP_WARPS)
                send_row(p, NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)s * M + i : (i64)sBase[s] + i, s, parity, lane, 32);
        }
        if (is_network(p, s)) continue;  // its slice goes out whole after the kernel
        u64* flag = combine_chunk_flag(p, p.peers[s], parity, p.rank, c);
        if (warpJobs) {
            team_release(team, COMBINE_TEAM_WARPS, flag, (u64)seq << 32);
            continue;
        }
        __syncthreads();
        // st.release.sys orders every write of the block before the flag (the barrier makes them observed by
        // thread 0 and a release is cumulative); the extra fence.sc.sys cost time per chunk.
        if (threadIdx.x == 0) st_release_sys(flag, (u64)seq << 32);
    }
}

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

extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS) ncclep_combine(const EpParams p) {
    wait_for_previous_kernel();
    const u32 seq = *ctrl_u32(p, CTRL_COMBINE_SEQ) + 1;
    TIMELINE_START(SLOT_COMBINE(seq));
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
