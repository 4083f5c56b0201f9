// The dispatch route's receiving side and its two kernels (the sending side and the message layout: ep_dispatch.cu,
// which the joined source puts first): wait for a source's chunk, lay its messages out in the group's layout
// (rows, source info, received top-k, FP8 scales), zero the padding rows, and run send and receive as the steps say.
#include "ep_common.cuh"
#include "ep_fp8.cuh"
#include "ep_route.cuh"
#include "ep_bulk.cuh"

// Bounded wait by thread 0 for chunk c of source s; the block learns the outcome.
__device__ __forceinline__ bool chunk_arrived(const EpParams& p, u32 seq, int parity, int s, int c) {
    __shared__ int sArrived;
    if (threadIdx.x == 0) {
        u64 word;
        sArrived = wait_sequence(p, dispatch_chunk_flag(p, p.window, parity, s, c), seq, s, PHASE_DISPATCH_RECEIVE, &word);
    }
    __syncthreads();
    const bool arrived = sArrived;
    __syncthreads();
    return arrived;
}

// High-throughput expert-major: the padding rows of every segment are zeros with no source (quantized: FP8 zeros with
// the scales of a zero row). They depend on the counts alone, so they are written before the first chunk is waited for
// (while it is still on its way), a warp per padding row over every receiving block, rather than a warp per segment at
// the end.
template <bool Q>
__device__ void zero_padding(const EpParams& p, const int* sSegments, const int* sExpertCounts, int L, int block, int blocks) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const int rows = (int)min((i64)sSegments[L], p.receiveRows);
    int l = 0;  // the segment of `index`: indices only grow, so it only moves forward
    for (int index = block * NCCLEP_WARPS + warp; index < rows; index += blocks * NCCLEP_WARPS) {
        while (l < L - 1 && index >= sSegments[l + 1]) l++;
        if (index < sSegments[l] + sExpertCounts[l]) continue;  // a row in use
        int4* row = (int4*)(p.rows + (i64)index * p.rowsStride0);
        for (int v = lane; v < (Q ? FP8_ROW_VECS : ROW_VECS); v += 32) row[v] = make_int4(0, 0, 0, 0);
        if constexpr (Q) {
            for (int w = lane; w < QUANT_SCALE_WORDS; w += 32)
                *(u32*)(p.scales + (i64)index * 4 + w * p.scalesColumnStride) = QUANT_ZERO_ROW_SCALE_WORD;
        }
        if (lane < 3) sourceInfo[(i64)index * 3 + lane] = -1;
    }
}

// Where a receiving block lays out this operation's messages: what every source's counts give (shared memory).
struct Landing {
    const int* base;           // [W + 1] first row of each source (Flat)
    const int* sourceOffsets;  // [L][W] rows of each local expert from earlier sources
    const int* expertCounts;   // [L] rows of each local expert
    const int* segments;       // [L + 1] first row of each local expert's segment
};

// Flat and rank-major: the output row of message i of source s (*index: its number in recvSourceInfo).
__device__ __forceinline__ int4* landing_row(const EpParams& p, const Landing& at, int s, int i, i64* index) {
    *index = NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? (i64)s * p.maxTokens + i : (i64)at.base[s] + i;
    return (int4*)(NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? p.rows + s * p.rowsStride0 + i * p.rowsStride1 : p.rows + *index * p.rowsStride0);
}

// The row of a source's message (about `token`, its first header word), here: this rank's own tokens are read from home, where the send half left them.
__device__ __forceinline__ const int4* message_row(const EpParams& p, const char* message, int s, int token) {
    return s == p.rank ? (const int4*)(p.home + token * p.homeStride) : (const int4*)(message + HEADER_BYTES);
}

// Whether message rows from source s already are the output rows (zero-copy receive: rank-major, FLAG_ROWS_IN_WINDOW):
// a peer's row is; this rank's own (read from home) and a network peer's (in the staging buffer) are copied in.
__device__ __forceinline__ bool rows_in_place(const EpParams& p, int s) {
    return (p.flags & FLAG_ROWS_IN_WINDOW) != 0 && s != p.rank && !from_staging(p, s);
}

// Message i of source s into the layout, by one warp or a team (`threads` threads, this one `thread` among them; the
// team's first warp, `lead`, writes the metadata): its row to every place the layout gives it, its source info and
// top-k (expert-major: per local slot, and the message's row of each slot for the combine). Without `copyRow` the
// pipe copies the row in bulk (ep_bulk.cuh) and this writes the rest; expert-major, it hands the pipe the row's places:
// batch entries batchEntry + k, one per top-k slot (null where the slot's expert is not here).
template <bool Q>
__device__ __forceinline__ void receive_message(const EpParams& p, const Landing& at, int parity, int s, int i, int thread, int threads, bool lead,
                                                bool copyRow = true, int batchEntry = 0) {
    const int lane = threadIdx.x & 31;
    constexpr int VECS = Q ? FP8_ROW_VECS : ROW_VECS;  // 16-byte vectors of an output row
    const int K = NCCLEP_TOPK, W = p.world, L = p.localExperts, M = p.maxTokens;
    const bool perExpert = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR;
    const bool packed = NCCLEP_MODE == MODE_HT;
    const i64 capacity = (i64)W * M;
    int* sourceInfo = state_at<int>(p, p.hRecvSourceInfo);
    const char* message = incoming_message(p, s, parity, i);
    const int token = ld_cv((const int*)message);
    // This rank's own tokens: the row is read from home, where the send half left it (quantized: from the message).
    const int4* source = Q ? (const int4*)(message + HEADER_BYTES) : message_row(p, message, s, token);

    if (!perExpert) {
        i64 index;
        int4* row = landing_row(p, at, s, i, &index);
        const bool copied = copyRow && !(!Q && rows_in_place(p, s));  // zero-copy receive is never quantized
        for (int v0 = copied ? thread : VECS; v0 < VECS; v0 += threads * COPY_UNROLL) {
            int4 x[COPY_UNROLL];
#pragma unroll
            for (int u = 0; u < COPY_UNROLL; u++) if (v0 + threads * u < VECS) x[u] = ld_cg(source + v0 + threads * u);
#pragma unroll
            for (int u = 0; u < COPY_UNROLL; u++) if (v0 + threads * u < VECS) row[v0 + threads * u] = x[u];
        }
        if (!lead) return;
        if constexpr (Q) copy_scales(p, message + HEADER_BYTES, NCCLEP_LAYOUT == LAYOUT_RANK_MAJOR ? s * p.scalesStride0 + (i64)i * 4 : index * 4, lane);
        if (lane < 3) sourceInfo[index * 3 + lane] = lane == 0 ? s : lane == 1 ? token : -1;
        if (lane < K) {
            state_at<int>(p, p.hRecvTopkIds)[index * K + lane] = ld_cv((const int*)(message + 16) + lane);
            state_at<float>(p, p.hRecvTopkWeights)[index * K + lane] = ld_cv((const float*)(message + 16 + 4 * K) + lane);
        }
        return;
    }

    // Expert-major: lane k finds slot k's row here (-1: not here); the row is read once, written per slot.
    // Each slot's row is also recorded per message: combine sends rows home in message order.
    const bool scale = (p.flags & FLAG_SCALE_BY_WEIGHT) != 0;
    i64 myOffset = -1, myScales = -1;  // byte offsets of slot `lane`'s row and of its scales (column 0)
    float myWeight = 0.f;
    if (lane < K) {
        const int position = ld_cv((const int*)(message + 16 + 8 * K) + lane);
        const int l = ld_cv((const int*)(message + 16) + lane) - p.rank * L;
        int myIndex = -1;
        if (position >= 0 && l >= 0 && l < L) {
            const int j = at.sourceOffsets[l * W + s] + position;
            const i64 index = (i64)at.segments[l] + j;
            if (j < (packed ? at.expertCounts[l] : capacity) && index < p.receiveRows) {
                myOffset = packed ? index * p.rowsStride0 : l * p.rowsStride0 + j * p.rowsStride1;
                myScales = packed ? index * 4 : l * p.scalesStride0 + (i64)j * 4;
                myWeight = ld_cv((const float*)(message + 16 + 4 * K) + lane);
                myIndex = (int)index;
                if (lead) { sourceInfo[index * 3] = s; sourceInfo[index * 3 + 1] = token; sourceInfo[index * 3 + 2] = lane; }
            }
        }
        if (lead) {
            state_at<int>(p, p.hRecvMessageRows)[((i64)s * M + i) * K + lane] = myIndex;
            // Per-rank combine partials weigh this message's local slots here: keep their weights per message.
            if (NCCLEP_COMBINE_PER_RANK) state_at<float>(p, p.hRecvTopkWeights)[((i64)s * M + i) * K + lane] = myWeight;
        }
        if (!copyRow) bulk_batch_put(batchEntry + lane, myOffset >= 0 ? p.rows + myOffset : nullptr, (const char*)source);
    }
    if (!copyRow) return;  // never quantized
    // The loop bound is the same for every lane of a warp: the shuffles below need the whole warp.
    for (int base = 0; base < VECS; base += threads * COPY_UNROLL) {
        const int v0 = base + thread;
        int4 x[COPY_UNROLL];
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) if (v0 + threads * u < VECS) x[u] = ld_cg(source + v0 + threads * u);
#pragma unroll 1
        for (int k = 0; k < K; k++) {
            const i64 offset = __shfl_sync(0xFFFFFFFFu, myOffset, k);
            const float w = __shfl_sync(0xFFFFFFFFu, myWeight, k);
            if (offset < 0) continue;
            int4* row = (int4*)(p.rows + offset);
#pragma unroll
            for (int u = 0; u < COPY_UNROLL; u++)
                if (v0 + threads * u < VECS) row[v0 + threads * u] = !Q && scale ? scale_vec(x[u], w) : x[u];
        }
    }
    if (!lead) return;
    if constexpr (Q) {
#pragma unroll 1
        for (int k = 0; k < K; k++) {
            const i64 scalesAt = __shfl_sync(0xFFFFFFFFu, myScales, k);
            if (scalesAt >= 0) copy_scales(p, message + HEADER_BYTES, scalesAt, lane);
        }
    }
}

// Reads no send-side handle state (routing copy, positions, counts, send lists): only this window, the staging slices
// and the caller's tokens; it writes only the handle's receive side. So a dispatch that routes itself (FLAG_ROUTE) does
// not gate it on routing_ready: this rank's own routing reaches it through its own count flag and messages, which its
// sending blocks release after that gate.
template <bool Q>
__device__ void receive_chunks(const EpParams& p, u32 seq, int parity, int block, int blocks, int* shared) {
    __shared__ int sCount[NCCLEP_MAX_WORLD];
    __shared__ int sBase[NCCLEP_MAX_WORLD + 1];
    const int W = p.world, L = p.localExperts, M = p.maxTokens;
    const bool perExpert = NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR;
    const bool packed = NCCLEP_MODE == MODE_HT;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int* sSourceOffsets = shared;            // [L][W]
    int* sExpertCounts = shared + L * W;     // [L]
    int* sSegments = sExpertCounts + L;      // [L + 1]
    int* sPadded = sSegments + L + 1;        // [L] padded counts (scan input)
    const int* active = active_mask(p);

    // Counts from every live source; -1 marks one that timed out (it contributes nothing).
    for (int s = threadIdx.x; s < W; s += blockDim.x) {
        int count = 0;
        u64 word;
        if (active[s]) {
            const u64* flag = from_staging(p, s) ? (const u64*)net_dispatch_slice(p, p.netIn, s)
                                               : (const u64*)(p.window + p.offDispatchFlags + (i64)(parity * W + s) * 8);
            count = wait_sequence(p, flag, seq, s, PHASE_DISPATCH_RECEIVE, &word) ? min((int)(u32)word, M) : -1;
        }
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
            if (sCount[s] < 0 || !active[s]) continue;
            const int* counts = from_staging(p, s) ? (const int*)(net_dispatch_slice(p, p.netIn, s) + 8)
                                                 : (const int*)(p.window + p.offExpertCounts + (i64)(parity * W + s) * L * 4);
            running += min(max(ld_cv(counts + l), 0), M);
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

    if (block == 0) {
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

    if (perExpert && packed) zero_padding<Q>(p, sSegments, sExpertCounts, L, block, blocks);
    const Landing at{sBase, sSourceOffsets, sExpertCounts, sSegments};
    if (NCCLEP_WARP_JOBS) {
        // A team per (source, chunk of one message): each of its warps waits for the chunk's flag itself, no barrier.
        constexpr int TEAM = Q ? 1 : LL_TEAM_WARPS;
        const Team team = team_of(TEAM);
        for (int job = first_team_job(team, block, blocks); job < chunk_count(M) * W; job += team_job_stride(TEAM, blocks)) {
            const int c = job / W, s = job - c * W;
            const int n = sCount[s];
            if (n <= 0 || c >= chunk_count(n)) continue;
            if (!from_staging(p, s) && !warp_wait_sequence(p, dispatch_chunk_flag(p, p.window, parity, s, c), seq, s, PHASE_DISPATCH_RECEIVE)) continue;
            for (int i = chunk_begin(n, c); i < chunk_begin(n, c + 1); i++) receive_message<Q>(p, at, parity, s, i, team.thread, team.threads, team.member == 0);
        }
        return;
    }
    constexpr bool bulk = BULK_DISPATCH_RECEIVE && !Q;  // rows by the block's pipe (ep_bulk.cuh)
    for (int job = block; job < chunk_count(M) * W; job += blocks) {
        const int c = job / W, s = job - c * W;
        const int n = sCount[s];
        if (n <= 0 || c >= chunk_count(n)) continue;
        if (bulk && threadIdx.x == 0) bulk_flush();  // what the pipe holds goes out before it waits for the next chunk
        if (!from_staging(p, s) && !chunk_arrived(p, seq, parity, s, c)) continue;
        // A peer's rows in bulk (this rank's own rows, read from home at a token the header gives, and rows scaled by
        // their weight stay with the warps).
        const bool inBulk = bulk && s != p.rank && !rows_in_place(p, s) && !(perExpert && (p.flags & FLAG_SCALE_BY_WEIGHT) != 0);
        if (inBulk && perExpert) {
            // Expert-major, in batches: the warps find each message's places (a row per local slot) and hand them to
            // the pipe (thread 0), which loads each row once and stores it to every place.
            const int perBatch = BULK_BATCH / NCCLEP_TOPK;
            for (int b0 = chunk_begin(n, c); b0 < chunk_begin(n, c + 1); b0 += perBatch) {
                const int b1 = min(chunk_begin(n, c + 1), b0 + perBatch);
                __syncthreads();  // the pipe has taken the previous batch
                for (int i = b0 + warp; i < b1; i += NCCLEP_WARPS) receive_message<Q>(p, at, parity, s, i, lane, 32, true, false, (i - b0) * NCCLEP_TOPK);
                __syncthreads();
                if (threadIdx.x == 0) {
                    bulk_acquired();  // chunk_arrived's acquire, then the copy engine reads the rows
                    bulk_batch_copy(b1 - b0, ROW_VECS * 16, NCCLEP_TOPK);
                }
            }
            continue;
        }
        if (inBulk && threadIdx.x == 0) {
            bulk_acquired();  // chunk_arrived's acquire, then the copy engine reads the rows
            for (int i = chunk_begin(n, c); i < chunk_begin(n, c + 1); i++) {
                i64 index;
                bulk_copy((char*)landing_row(p, at, s, i, &index), incoming_message(p, s, parity, i) + HEADER_BYTES, ROW_VECS * 16);
            }
        }
        for (int i = chunk_begin(n, c) + warp; i < chunk_begin(n, c + 1); i += NCCLEP_WARPS) receive_message<Q>(p, at, parity, s, i, lane, 32, true, !inBulk);
    }
    if (bulk && threadIdx.x == 0) bulk_drain();  // the rows are complete before the kernel ends
}

// Hierarchical HT: the rail peer's forwarding of other nodes' messages to this node's ranks (ep_forward.cu); rowVecs
// 16-byte vectors follow each message's header.
__device__ void forward_rail_slices(const EpParams& p, u32 seq, int parity, int block, int blocks, int rowVecs);

template <bool Q>
__device__ __forceinline__ void dispatch_route(const EpParams& p, int* shared) {
    wait_for_previous_kernel();
    const u32 seq = *ctrl_u32(p, CTRL_DISPATCH_SEQ) + 1;
    TIMELINE_START(SLOT_DISPATCH(seq));
    if (!Q && (BULK_DISPATCH_SEND || BULK_DISPATCH_RECEIVE)) bulk_setup();  // masked_out's barrier follows
    if (masked_out(p, PHASE_DISPATCH_RECEIVE, seq)) return;  // before any store to a peer (forwarding included)
    const int parity = seq & 1;
    const bool send = (p.steps & STEP_SEND) != 0, receive = (p.steps & STEP_RECEIVE) != 0;
    const int G = gridDim.x, b = blockIdx.x;

    if (send && receive && G > 1) {
        const int senders = sending_blocks(G, DISPATCH_SENDERS_PER_8);
        if (b < senders) {
            if (routing_ready(p, seq, (u32*)shared)) {  // FLAG_ROUTE: block 0 routes first (ep_route.cuh)
                if (b == 0) publish_counts(p, seq, parity);
                send_chunks<Q>(p, seq, parity, b, senders);
            }
        } else {
            receive_chunks<Q>(p, seq, parity, b - senders, G - senders, shared);
        }
    } else {
        if (send && routing_ready(p, seq, (u32*)shared)) {
            if (b == 0) publish_counts(p, seq, parity);
            send_chunks<Q>(p, seq, parity, b, G);
        }
        if (receive && hierarchical(p)) forward_rail_slices(p, seq, parity, b, G, Q ? QUANT_PAYLOAD_VECS : ROW_VECS);
        if (receive) receive_chunks<Q>(p, seq, parity, b, G, shared);
    }

    // The operation ends (its sequence number advances) when its receive half is done.
    if (receive && last_block_arrives(ctrl_u32(p, CTRL_TICKETS + 4)) && threadIdx.x == 0) {
        *ctrl_u32(p, CTRL_DISPATCH_SEQ) = seq;
        *ctrl_u32(p, CTRL_TICKETS + 4) = 0;
    }
    TIMELINE_END(SLOT_DISPATCH(seq), !(send && receive && G > 1) ? 0 : b < sending_blocks(G, DISPATCH_SENDERS_PER_8) ? 1 : 2, seq);
}

// The bulk copies' stages come first in the dispatch's dynamic shared memory (ep_bulk.cuh); the counts and masks after.
extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS, NCCLEP_BLOCKS_PER_SM) ncclep_dispatch(const EpParams p) {
    extern __shared__ int shared[];
    dispatch_route<false>(p, shared + (BULK_DISPATCH_SEND || BULK_DISPATCH_RECEIVE ? BULK_DYNAMIC_BYTES / 4 : 0));
}

#if NCCLEP_QUANT != 0
extern "C" __global__ void __launch_bounds__(NCCLEP_THREADS, NCCLEP_BLOCKS_PER_SM) ncclep_dispatch_fp8(const EpParams p) {
    extern __shared__ int shared[];
    dispatch_route<true>(p, shared);
}
#endif
