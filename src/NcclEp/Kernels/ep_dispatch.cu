// The dispatch route (Dispatch forward, Combine backward), sending side and message layout; the receiving side and
// the kernels are in ep_dispatch_receive.cu. HostRankBackend.DispatchRoute.cs and
// HostRankBackend.LayOut.cs are the reference. The grid splits into sending and receiving blocks so the
// receivers copy one chunk while the senders still write the next:
//   notify:  block 0 first gives every destination its message count and per-expert counts (the flag
//            seq << 32 | count), so a receiver can place rows before the bulk data has landed;
//   send:    (destination, chunk) jobs; a warp per message writes its header and row (16-byte vectors,
//            several loads in flight per lane), then the chunk's flag is released;
//   receive: every receiving block takes the counts of every live source and the offsets they give, then
//            (source, chunk) jobs: after the chunk's flag, a warp per message writes its row to every
//            destination the layout gives it.
// With network peers (outside the LSA team) the host launches the send half, NCCL's send/recv of the
// staging slices, then the receive half: those peers' messages and counts are in the staging buffer.
// Two kernels share this code (template parameter Q): ncclep_dispatch moves rows as they are (the forward dispatch
// without quantization, and Combine's backward pass); ncclep_dispatch_fp8, built for an FP8 recipe, quantizes each row
// into its message and lays out FP8 rows and their scales (ep_fp8.cuh); p.messageBytes is the recipe's message stride.
#include "ep_common.cuh"
#include "ep_fp8.cuh"
#include "ep_bulk.cuh"


__device__ __forceinline__ char* message_at(const EpParams& p, char* window, int parity, int source, int slot) {
    return window + p.offMessages + ((i64)(parity * p.world + source) * p.maxTokens + slot) * p.messageBytes;
}

// Where this rank's message `slot` for rank r goes: r's window, or r's out slice.
__device__ __forceinline__ int4* outgoing_message(const EpParams& p, int r, int parity, int slot) {
    return (int4*)(is_network(p, r) ? net_dispatch_slice(p, p.netOut, r) + p.netHeaderBytes + (i64)slot * p.messageBytes
                                    : message_at(p, p.peers[r], parity, p.rank, slot));
}

// Message `slot` from source s, here.
__device__ __forceinline__ const char* incoming_message(const EpParams& p, int s, int parity, int slot) {
    return from_staging(p, s) ? net_dispatch_slice(p, p.netIn, s) + p.netHeaderBytes + (i64)slot * p.messageBytes
                            : message_at(p, p.window, parity, s, slot);
}

__device__ __forceinline__ u64* dispatch_chunk_flag(const EpParams& p, char* window, int parity, int source, int chunk) {
    return chunk_flag(window, p.offChunkFlags, p.world, parity, source, chunk);
}

// Word i of the header of token t's message to rank r, or with node >= 0 to that node's rail peer (the slot
// positions of every expert on the node; the rail peer keeps each destination's own when it forwards).
__device__ __forceinline__ int header_word(const EpParams& p, int t, int r, int i, int node) {
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
        const bool there = node >= 0 ? e / (p.localExperts * p.nodeSize) == node : e / p.localExperts == r;
        return e >= 0 && there ? state_at<int>(p, p.hSlotPositions)[t * K + i] : -1;
    }
    return 0;
}

// Notify (block 0): per-expert counts, then the count flag, to every live destination.
__device__ void publish_counts(const EpParams& p, u32 seq, int parity) {
    const int W = p.world, L = p.localExperts;
    const int* active = active_mask(p);
    const int* expertCounts = state_at<int>(p, p.hSendExpertCounts);
    const int* rankCounts = state_at<int>(p, p.hSendRankCounts);
    for (int i = threadIdx.x; i < W * L; i += blockDim.x) {
        const int r = i / L, l = i - r * L;
        if (!active[r]) continue;
        int* counts = !is_network(p, r) ? (int*)(p.peers[r] + p.offExpertCounts + (i64)(parity * W + p.rank) * L * 4)
                    : hierarchical(p)   ? (int*)(net_dispatch_slice(p, p.netOut, rail_peer(p, r / p.nodeSize)) + 8) + p.nodeSize + (r % p.nodeSize) * L
                                        : (int*)(net_dispatch_slice(p, p.netOut, r) + 8);
        counts[l] = expertCounts[i];
    }
    // The barrier makes every thread's counts observed by the thread that releases a flag (cumulative), as for the
    // chunk flags: no fence.sc.sys, which sits on the low-latency critical path.
    __syncthreads();
    for (int r = threadIdx.x; r < W; r += blockDim.x) {
        if (!active[r]) continue;
        const u64 word = ((u64)seq << 32) | (u32)rankCounts[r];
        if (hierarchical(p) && is_network(p, r)) {  // the count goes into the node's rail slice, which travels whole
            const int rail = rail_peer(p, r / p.nodeSize);
            char* slice = net_dispatch_slice(p, p.netOut, rail);
            ((int*)(slice + 8))[r % p.nodeSize] = rankCounts[r];
            if (r == rail) *(u64*)slice = ((u64)seq << 32) | (u32)min(*state_at<int>(p, p.hNumTokens), p.maxTokens);
        } else if (is_network(p, r)) {
            *(u64*)net_dispatch_slice(p, p.netOut, r) = word;  // travels with the slice
        } else {
            st_release_sys((u64*)(p.peers[r] + p.offDispatchFlags + (i64)(parity * W + p.rank) * 8), word);
        }
    }
}

// One message: header words and the token's row, COPY_UNROLL vectors per thread loaded before any is stored, by
// `threads` threads (a warp, or a team: `thread` is this one's index among them). A message to this rank itself carries
// only its header: the receiver reads the row from home. With node >= 0, the message for that node's rail peer.
// Quantized (Q, one warp: thread is its lane): the header, then the row quantized (every message, this rank's own
// included, so every receiver reads FP8 rows and scales the same way). Without ROW only the header: the pipe copies the
// row in bulk (ep_bulk.cuh).
template <bool Q, bool ROW = true>
__device__ __forceinline__ void write_message(const EpParams& p, int4* message, int t, int r, int thread, int threads, int node = -1) {
    const int VECS = Q || !ROW || (node < 0 && r == p.rank) ? HEADER_VECS : HEADER_VECS + ROW_VECS;
    const int4* row = (const int4*)(p.home + t * p.homeStride);
    for (int v0 = thread; v0 < VECS; v0 += threads * COPY_UNROLL) {
        int4 x[COPY_UNROLL];
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) {
            const int v = v0 + threads * u;
            if (v >= VECS) break;
            x[u] = v < HEADER_VECS ? make_int4(header_word(p, t, r, 4 * v, node), header_word(p, t, r, 4 * v + 1, node),
                                               header_word(p, t, r, 4 * v + 2, node), header_word(p, t, r, 4 * v + 3, node))
                                   : __ldg(row + (v - HEADER_VECS));
        }
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) {
            const int v = v0 + threads * u;
            if (v >= VECS) break;
            message[v] = x[u];
        }
    }
    if constexpr (Q) write_quantized_row(row, (char*)message + HEADER_BYTES, thread);
}

// Hierarchical HT: for every other node with a live rail peer, each token's slot at each of the node's ranks (-1:
// none, or a masked rank) and, if it has one, the token's message, indexed by token. The slices go out whole after
// the kernel; the rail peer forwards (ep_forward.cu).
#define RAIL_TOKENS 64
template <bool Q>
__device__ void send_rail_messages(const EpParams& p, int block, int blocks) {
    const int W = p.world, G = p.nodeSize, M = p.maxTokens;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int* active = active_mask(p);
    const int* positions = state_at<int>(p, p.hRankPositions);  // [t][W]: the token's slot at each rank, -1: none
    const int T = min(*state_at<int>(p, p.hNumTokens), M);
    const int chunks = (T + RAIL_TOKENS - 1) / RAIL_TOKENS;
    for (int job = block; job < (W / G) * chunks; job += blocks) {
        const int node = job / chunks, c = job - node * chunks, rail = rail_peer(p, node);
        if (node == p.rank / G || !active[rail]) continue;
        char* slice = net_dispatch_slice(p, p.netOut, rail);
        int* slots = (int*)(slice + rail_header_bytes(p));
        char* messages = slice + rail_messages_offset(p);
        for (int t = c * RAIL_TOKENS + warp; t < min(T, (c + 1) * RAIL_TOKENS); t += NCCLEP_WARPS) {
            const int d = node * G + lane;
            const int slot = lane < G && active[d] ? positions[(i64)t * W + d] : -1;
            if (lane < G) slots[(i64)t * G + lane] = slot;
            if (__ballot_sync(0xFFFFFFFFu, slot >= 0) == 0) continue;
            write_message<Q>(p, (int4*)(messages + (i64)t * p.messageBytes), t, -1, lane, 32, node);
        }
    }
}

// Sending block `block` of `blocks`: (chunk, destination) jobs in chunk order, so every destination's first
// chunks go out first. Block jobs: the block's warps share a chunk's messages, then thread 0 releases its flag after a
// barrier. Warp jobs (low latency): a team (ep_common.cuh) writes a chunk (one message) and releases its flag itself.
template <bool Q>
__device__ void send_chunks(const EpParams& p, u32 seq, int parity, int block, int blocks) {
    const int W = p.world, M = p.maxTokens;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int* active = active_mask(p);
    const int* rankCounts = state_at<int>(p, p.hSendRankCounts);
    const int* sendTokens = state_at<int>(p, p.hSendTokens);
    const bool warpJobs = NCCLEP_WARP_JOBS;
    constexpr int TEAM = NCCLEP_WARP_JOBS && !Q ? LL_TEAM_WARPS : 1;
    const Team team = team_of(TEAM);
    constexpr bool bulk = BULK_DISPATCH_SEND && !Q && !NCCLEP_WARP_JOBS;  // rows by the block's pipe (ep_bulk.cuh)

    for (int job = warpJobs ? first_team_job(team, block, blocks) : block; job < chunk_count(M) * W; job += warpJobs ? team_job_stride(TEAM, blocks) : blocks) {
        const int c = job / W, r = job - c * W;
        if (!active[r] || (hierarchical(p) && is_network(p, r))) continue;  // another node: through its rail peer
        const int n = min(rankCounts[r], M);
        if (n <= 0 || c >= chunk_count(n)) continue;  // no such chunk: the receiver does not wait for it either
        const int begin = chunk_begin(n, c), end = chunk_begin(n, c + 1);
        if (warpJobs) {
            for (int slot = begin; slot < end; slot++)
                write_message<Q>(p, outgoing_message(p, r, parity, slot), sendTokens[(i64)r * M + slot], r, team.thread, team.threads);
        } else if (bulk) {
            // In batches: the warps write the headers and hand the pipe (thread 0) each row's source and destination
            // (none for a message to this rank: it carries only its header), then the pipe copies the rows. The flag's
            // barrier below covers the headers.
            for (int b0 = begin; b0 < end; b0 += BULK_BATCH) {
                const int b1 = min(end, b0 + BULK_BATCH);
                __syncthreads();  // the pipe has taken the previous batch
                for (int slot = b0 + warp; slot < b1; slot += NCCLEP_WARPS) {
                    const int t = sendTokens[(i64)r * M + slot];
                    int4* message = outgoing_message(p, r, parity, slot);
                    write_message<Q, false>(p, message, t, r, lane, 32);
                    if (lane == 0) bulk_batch_put(slot - b0, r == p.rank ? nullptr : (char*)message + HEADER_BYTES, p.home + t * p.homeStride);
                }
                __syncthreads();
                if (threadIdx.x == 0) bulk_batch_copy(b1 - b0, ROW_VECS * 16);
            }
        } else {
            for (int slot = begin + warp; slot < end; slot += NCCLEP_WARPS)
                write_message<Q>(p, outgoing_message(p, r, parity, slot), sendTokens[(i64)r * M + slot], r, lane, 32);
        }
        if (is_network(p, r)) continue;  // its slice goes out whole after the kernel
        u64* flag = dispatch_chunk_flag(p, p.peers[r], parity, p.rank, c);
        if (warpJobs) {
            team_release(team, TEAM, flag, (u64)seq << 32);
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
    if (hierarchical(p)) send_rail_messages<Q>(p, block, blocks);
}
