// Hierarchical HT dispatch, the rail peer's half (docs/internode.md §7; the rail slice layout is in ep_common.cuh).
// In the receive half, before receiving, every block forwards messages of the other nodes' rail sources: each into
// the window of each live rank of this node that the token goes to, at the slot the source gave it there, with the
// slot positions of that rank's experts only, exactly as the source would have written it over NVLink. The last
// block to finish then writes each forwarded source's expert counts there and releases its chunk flags and count
// flag. A destination's receive half is then the LSA path, unchanged. Nothing here waits on a peer: the slices
// arrived through NCCL before this kernel started.
#include "ep_common.cuh"

#define FORWARD_TOKENS 64

// Header word j of a forwarded message for rank `destination`: a slot position stays only if its expert is there.
__device__ __forceinline__ int forwarded_word(const EpParams& p, const int* header, int j, int value, int destination) {
    const int k = j - 4 - 2 * NCCLEP_TOPK;
    if (k < 0 || k >= NCCLEP_TOPK) return value;
    const int e = header[4 + k];
    return e >= 0 && e / p.localExperts == destination ? value : -1;
}

// Rail source of node n (this rank's local index there), or -1 when it sent nothing valid for this operation.
__device__ __forceinline__ int rail_source(const EpParams& p, int n, u32 seq, const int* active) {
    if (n == p.rank / p.nodeSize) return -1;
    const int s = rail_peer(p, n);
    if (!active[s]) return -1;
    const u64 word = *(const u64*)net_dispatch_slice(p, p.netIn, s);
    return (u32)(word >> 32) == seq ? s : -1;
}

__device__ void forward_rail_slices(const EpParams& p, u32 seq, int parity, int block, int blocks, int rowVecs) {
    const int W = p.world, G = p.nodeSize, N = W / G, L = p.localExperts, M = p.maxTokens;
    const int node = p.rank / G, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int* active = active_mask(p);
    const int chunks = (M + FORWARD_TOKENS - 1) / FORWARD_TOKENS;

    for (int job = block; job < N * chunks; job += blocks) {
        const int n = job / chunks, c = job - n * chunks;
        const int s = rail_source(p, n, seq, active);
        if (s < 0) continue;
        const char* slice = net_dispatch_slice(p, p.netIn, s);
        const int tokens = min((int)(u32)*(const u64*)slice, M);
        const int* slots = (const int*)(slice + rail_header_bytes(p));
        const char* messages = slice + rail_messages_offset(p);
        for (int t = c * FORWARD_TOKENS + warp; t < min(tokens, (c + 1) * FORWARD_TOKENS); t += NCCLEP_WARPS) {
            // Lane g < G: the token's slot at rank g of this node (-1: not there, or that rank is masked).
            int slot = lane < G ? slots[(i64)t * G + lane] : -1;
            if (lane < G && !active[node * G + lane]) slot = -1;
            const unsigned targets = __ballot_sync(0xFFFFFFFFu, slot >= 0);
            if (targets == 0) continue;
            const int4* source = (const int4*)(messages + (i64)t * p.messageBytes);
            const int* header = (const int*)source;

            // The header, per destination (its own slot positions).
            for (unsigned rest = targets; rest != 0; rest &= rest - 1) {
                const int g = __ffs(rest) - 1, d = node * G + g;
                const int at = __shfl_sync(0xFFFFFFFFu, slot, g);
                int4* message = (int4*)(p.peers[d] + p.offMessages + ((i64)(parity * W + s) * M + at) * p.messageBytes);
                for (int v = lane; v < HEADER_VECS; v += 32) {
                    const int4 x = __ldg(source + v);
                    message[v] = make_int4(forwarded_word(p, header, 4 * v, x.x, d), forwarded_word(p, header, 4 * v + 1, x.y, d),
                                           forwarded_word(p, header, 4 * v + 2, x.z, d), forwarded_word(p, header, 4 * v + 3, x.w, d));
                }
            }
            // The row (or FP8 row and scales): loaded once, COPY_UNROLL vectors per lane, stored to every destination.
            for (int v0 = lane; v0 < rowVecs; v0 += 32 * COPY_UNROLL) {
                int4 x[COPY_UNROLL];
#pragma unroll
                for (int u = 0; u < COPY_UNROLL; u++) if (v0 + 32 * u < rowVecs) x[u] = __ldg(source + HEADER_VECS + v0 + 32 * u);
                for (unsigned rest = targets; rest != 0; rest &= rest - 1) {
                    const int g = __ffs(rest) - 1, d = node * G + g;
                    const int at = __shfl_sync(0xFFFFFFFFu, slot, g);
                    int4* row = (int4*)(p.peers[d] + p.offMessages + ((i64)(parity * W + s) * M + at) * p.messageBytes) + HEADER_VECS;
#pragma unroll
                    for (int u = 0; u < COPY_UNROLL; u++) if (v0 + 32 * u < rowVecs) row[v0 + 32 * u] = x[u];
                }
            }
        }
    }

    // Every thread's forwarded writes before its block arrives; the last block publishes (as the grid ticket does).
    __threadfence_system();
    if (!last_block_arrives(ctrl_u32(p, CTRL_TICKETS))) return;
    for (int i = threadIdx.x; i < N * G * L; i += blockDim.x) {
        const int n = i / (G * L), g = i / L - n * G, l = i - (i / L) * L, d = node * G + g;
        const int s = rail_source(p, n, seq, active);
        if (s < 0 || !active[d]) continue;
        const int* counts = (const int*)(net_dispatch_slice(p, p.netIn, s) + 8) + G + g * L;
        ((int*)(p.peers[d] + p.offExpertCounts + (i64)(parity * W + s) * L * 4))[l] = counts[l];
    }
    __syncthreads();  // the counts before any flag that announces them (a release is cumulative)
    for (int i = threadIdx.x; i < N * G; i += blockDim.x) {
        const int n = i / G, g = i - n * G, d = node * G + g;
        const int s = rail_source(p, n, seq, active);
        if (s < 0 || !active[d]) continue;
        const int count = ((const int*)(net_dispatch_slice(p, p.netIn, s) + 8))[g];
        const int chunks = chunk_count(min(max(count, 0), M));
        for (int c = 0; c < chunks; c++)
            st_release_sys(chunk_flag(p.peers[d], p.offChunkFlags, W, parity, s, c), (u64)seq << 32);
        st_release_sys((u64*)(p.peers[d] + p.offDispatchFlags + (i64)(parity * W + s) * 8), ((u64)seq << 32) | (u32)count);
    }
    __syncthreads();
    if (threadIdx.x == 0) *ctrl_u32(p, CTRL_TICKETS) = 0;
}
