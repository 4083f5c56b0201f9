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
// This file holds the sending side, per-rank partials and the row addressing; the reducing side and the kernel are in
// ep_combine_reduce.cu, which the joined source puts right after it.
#include "ep_common.cuh"
#include "ep_bulk.cuh"

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

// Where row `index` goes home on source s, (token, slot), or null if its source info is not sound.
__device__ __forceinline__ int4* home_row(const EpParams& p, i64 index, int s, int parity) {
    const int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const int token = sourceInfo[index * 3 + 1];
    const int slot = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? sourceInfo[index * 3 + 2] : p.rank;
    if (sourceInfo[index * 3] != s || token < 0 || token >= p.maxTokens || slot < 0 || slot >= p.combineSlots) return nullptr;
    return outgoing_row(p, s, parity, token, slot);
}

// Row `index` home on source s (home_row): by `threads` threads (a warp, or a team), this one `thread` among them.
__device__ __forceinline__ void send_row(const EpParams& p, i64 index, int s, int parity, int thread, int threads) {
    int4* dst = home_row(p, index, s, parity);
    if (dst == nullptr) return;
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
    constexpr bool bulk = BULK_COMBINE_SEND && !NCCLEP_WARP_JOBS;  // rows by the block's pipe (ep_bulk.cuh)
    const int rowsPer = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? K : 1;  // rows answering a message, at most
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
        } else if (bulk) {
            // In batches: a thread per row (a row per message, or per (message, slot) expert-major) looks up where it
            // goes and hands it to the pipe (thread 0), which copies them.
            for (int b0 = begin * rowsPer; b0 < end * rowsPer; b0 += BULK_BATCH) {
                const int b1 = min(end * rowsPer, b0 + BULK_BATCH);
                __syncthreads();  // the pipe has taken the previous batch
                for (int item = b0 + threadIdx.x; item < b1; item += blockDim.x) {
                    const int i = item / rowsPer;
                    const i64 index = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? messageRows[(i64)s * M * K + item]
                                    : NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR   ? (i64)s * M + i : (i64)sBase[s] + i;
                    int4* dst = index >= 0 ? home_row(p, index, s, parity) : nullptr;
                    bulk_batch_put(item - b0, (char*)dst, dst != nullptr ? (const char*)output_row(p, index) : nullptr);
                }
                __syncthreads();
                if (threadIdx.x == 0) bulk_batch_copy(b1 - b0, ROW_VECS * 16);
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
        // thread 0 and a release is cumulative); the extra fence.sc.sys cost time per chunk. In bulk, the pipe releases
        // it once the chunk's rows are stored and complete.
        if (threadIdx.x == 0) {
            if (bulk) bulk_release_after(flag, (u64)seq << 32);
            else st_release_sys(flag, (u64)seq << 32);
        }
    }
    if (bulk && threadIdx.x == 0) bulk_drain();  // the network peers' slices go out after the kernel, complete
}
