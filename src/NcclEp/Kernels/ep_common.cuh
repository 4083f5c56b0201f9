// NcclEp device helpers: parameter block, memory-order primitives, bf16 arithmetic.
// Compiled by NVRTC with -DNCCLEP_MODE, -DNCCLEP_LAYOUT, -DNCCLEP_HIDDEN, -DNCCLEP_TOPK, -DNCCLEP_DTYPE (and -DNCCLEP_QUANT, ep_fp8.cuh),
// and -DNCCLEP_COMBINE_PER_RANK=1 for expert-major groups whose combine sends per-rank partials (EpCombineReduction.PerRank).
// Every arithmetic step matches the Host backend (src/NcclEp/Host) bit for bit: products and sums are
// rounded separately (__fmul_rn/__fadd_rn, never fused) and fp32 -> bf16 rounds to nearest even.
#pragma once

#define NCCLEP_MAX_WORLD 64
#define NCCLEP_THREADS 512
#define NCCLEP_WARPS (NCCLEP_THREADS / 32)
// The dispatch and combine kernels' launch bounds: a grid is at most the SMs (co-located ranks split them), one block
// per SM. Said to ptxas, it may take up to 128 registers a thread; left unsaid, it chose 64 and spilled in the FP8
// dispatch and the bulk-copy builds (scripts/kernel-resources.py).
#define NCCLEP_BLOCKS_PER_SM 1

#define LAYOUT_FLAT 0
#define LAYOUT_EXPERT_MAJOR 1
#define LAYOUT_RANK_MAJOR 2
#define MODE_LL 0
#define MODE_HT 1
#ifndef NCCLEP_COMBINE_PER_RANK
#define NCCLEP_COMBINE_PER_RANK 0
#endif

// Window control block (WindowControl.cs).
#define CTRL_DISPATCH_SEQ 0
#define CTRL_COMBINE_SEQ 4
#define CTRL_ROUTE_READY 8   // u32: sequence number of the dispatch whose block 0 finished routing (FLAG_ROUTE, ep_route.cuh)
#define CTRL_TICKETS 32
#define CTRL_MASKED_BY 128
#define CTRL_ACTIVE_MASK 256

// Error codes written to the mapped error record (CudaErrorRecord.cs).
#define ERR_TIMEOUT 1
#define ERR_BAD_EXPERT 2
#define ERR_DUPLICATE_EXPERT 3
#define ERR_MASKED 4
#define PHASE_DISPATCH_RECEIVE 1
#define PHASE_COMBINE_RECEIVE 2
#define PHASE_UPDATE 4

typedef unsigned long long u64;
typedef unsigned int u32;
typedef long long i64;

// The kernels' only argument; mirrored field for field by CudaKernelParams.cs.
struct EpParams {
    int rank, world, localExperts, numExperts;
    int topK, maxTokens, hidden, rowBytes;
    int headerBytes, messageBytes, combineSlots, numTokens;
    int flags, expertAlignment, updateTileWords, steps;
    i64 timeoutNs;
    char* window;
    int* errorRecord;
    i64 offDispatchFlags, offCombineFlags, offExpertCounts, offMessages, offCombineRows;
    char* state;
    i64 hNumTokens, hTopkIds, hTopkWeights, hRankPositions, hSlotPositions;
    i64 hSendRankCounts, hSendExpertCounts, hRecvRankCounts, hRecvExpertCounts, hRecvExpertOffsets;
    i64 hRecvTotal, hRecvSourceOffsets, hRecvSourceInfo, hRecvTopkIds, hRecvTopkWeights;  // weights: [W][M][K] per message for per-rank partials
    i64 receiveRows;
    char* home;
    i64 homeStride;
    char* rows;
    i64 rowsStride0, rowsStride1;
    const char* topkIds;
    i64 topkIdsStride;
    const char* topkWeights;
    i64 topkWeightsStride;
    i64 hUpdateTiles, hSendTokens;  // handle: update's per-tile counts [tiles][E + W]; tokens sent to each rank [W][M]
    i64 offChunkFlags;              // window: [2][W][NCCLEP_CHUNKS] u64, seq << 32 when a chunk of messages is written
    u64 networkMask;                // bit r: peer r is outside the LSA team (reached through NCCL send/recv)
    char* netOut;                   // staging: [R] dispatch slices, then [R] combine slices at netCombineBase
    char* netIn;
    i64 netDispatchSlice, netCombineSlice, netCombineBase;
    int netHeaderBytes, netCombineSlots;
    int nodeSize;                   // HT with network peers: ranks per node for hierarchical dispatch; 0: flat
    int reserved3;
    i64 offCombineChunkFlags;       // window: [2][W][NCCLEP_CHUNKS] u64, combine's chunk flags
    i64 hRecvMessageRows;           // handle, expert-major: [W][M][K] dispatch-output row of each message's slot, -1 if none
    char* scales;                   // FP8 dispatch: the scales tensor, [blocks][columns][rows] or [columns][rows], rows contiguous
    i64 scalesStride0;              // bytes between blocks (experts or source ranks) of 3-D scales; 0 for 2-D
    i64 scalesColumnStride;         // bytes between scale columns
    char* peers[NCCLEP_MAX_WORLD];  // LSA address of each peer's window; 0 for network peers
};

// Which halves of an operation a launch runs. Both with LSA peers only; with network peers the send half,
// NCCL's send/recv of the staging slices, and the receive half are three stream-ordered steps.
#define STEP_SEND 1
#define STEP_RECEIVE 2

// Dispatch messages go out in chunks of each (source, destination) block, each with its own flag, so the
// receiving blocks copy a chunk while the sending blocks still write later ones: a sending block takes its
// chunks in order, so chunks land one after another rather than all at the end. Combine sends its rows home in
// the same chunks (of the messages they answer), so a home token is reduced once the chunks holding it landed.
#define NCCLEP_CHUNKS 256   // most chunks of one block (flag slots per source)
// Low-latency mode works in warp jobs: a chunk is one message (while a block has at most NCCLEP_CHUNKS), written by a
// team of warps (below) that releases its flag itself after the team's barrier, received by a team whose warps each
// wait for the flag, and the combine's reducing warps wait for their own token's flags: no block barrier per chunk
// (issue 19: at 128 tokens 4 of 16 warps per block worked and each chunk cost two block barriers). High-throughput mode keeps block jobs: a warp releasing a flag per row cost 14 us of
// HT Flat dispatch (bench/results/history-kernels.md). -DNCCLEP_WARP_JOBS=0 builds the block jobs for LL too
// (scripts/kernel-variant.sh), to time the two side by side.
#ifndef NCCLEP_WARP_JOBS
#define NCCLEP_WARP_JOBS (NCCLEP_MODE == MODE_LL)
#endif
// Messages per chunk (for blocks of fewer than CHUNK_MESSAGES * NCCLEP_CHUNKS): one for warp jobs; 4 for low-latency
// block jobs, so every block gets a chunk of ~128 messages; 16 in high-throughput mode, to pay a flag per 16 rows.
// Backend/MessageChunks.cs mirrors it.
#define CHUNK_MESSAGES (NCCLEP_WARP_JOBS ? 1 : NCCLEP_MODE == MODE_LL ? 4 : 16)

// Warp jobs: the j-th job of a loop over `blocks` blocks goes to warp j / blocks of block j % blocks, so a handful of
// jobs (one token's messages) spread over SMs, one per block, before any block takes a second.
__device__ __forceinline__ int first_warp_job(int block, int blocks) { return (threadIdx.x >> 5) * blocks + block; }
__device__ __forceinline__ int warp_job_stride(int blocks) { return blocks * NCCLEP_WARPS; }

// Teams (warp jobs): a job that copies one row, a message, is taken by a team of LL_TEAM_WARPS warps of one block, so
// its 16-byte vectors spread over 32 * LL_TEAM_WARPS threads: a 14 KB row (hidden 7168, bf16) is 2 rounds of loads per
// thread instead of 7 for one warp, which is the latency of a 1-token step's message. A team's job j goes to team
// j / blocks of block j % blocks, as warp jobs do. Quantized dispatch keeps teams of one warp (a warp quantizes a row).
#ifndef LL_TEAM_WARPS
#define LL_TEAM_WARPS 4
#endif
static_assert(NCCLEP_WARPS % LL_TEAM_WARPS == 0, "LL_TEAM_WARPS must divide the warps of a block: a team's barrier needs all its warps");
struct Team {
    int index;    // the team within its block
    int member;   // the warp within the team
    int thread;   // the thread within the team: the copy loops' first vector
    int threads;  // threads of the team: the copy loops' stride
};
__device__ __forceinline__ Team team_of(int warps) {
    const int warp = threadIdx.x >> 5;
    return Team{warp / warps, warp % warps, (int)threadIdx.x % (32 * warps), 32 * warps};
}
// A team's first job and stride over `blocks` blocks.
__device__ __forceinline__ int first_team_job(const Team& team, int block, int blocks) { return team.index * blocks + block; }
__device__ __forceinline__ int team_job_stride(int warps, int blocks) { return blocks * (NCCLEP_WARPS / warps); }

// How many chunks a block of n messages is cut into (1..NCCLEP_CHUNKS; none of them empty when n > 0).
__device__ __forceinline__ int chunk_count(int n) { return min(NCCLEP_CHUNKS, max(1, (n + CHUNK_MESSAGES - 1) / CHUNK_MESSAGES)); }

// Chunk c of a block of n messages is [chunk_begin(n, c), chunk_begin(n, c + 1)), c < chunk_count(n).
__device__ __forceinline__ int chunk_begin(int n, int c) { return (int)((i64)n * c / chunk_count(n)); }

// The chunk holding message x of a block of n (0 <= x < n).
__device__ __forceinline__ int chunk_of(int n, int x) {
    const int m = chunk_count(n);
    return min(m - 1, max(0, (int)((((i64)x + 1) * m + n - 1) / n) - 1));
}

__device__ __forceinline__ u64* chunk_flag(char* window, i64 offset, int world, int parity, int source, int chunk) {
    return (u64*)(window + offset + (((i64)parity * world + source) * NCCLEP_CHUNKS + chunk) * 8);
}

// 16-byte vectors each lane loads before it stores any (loads in flight together). Overridable with -D
// (scripts/kernel-variant.sh): a low-latency message is copied by one warp, so its latency is ROW_VECS / 32 / COPY_UNROLL
// rounds of loads.
#ifndef COPY_UNROLL
#define COPY_UNROLL 4
#endif

// Of every 8 blocks of a launch that both sends and receives, how many send; the rest receive (dispatch) or
// reduce (combine). Both halves are resident together (the grid is at most the SMs), so receivers may wait.
// High-throughput values from side-by-side runs on 2x H200 at 4096 tokens (bench/results, run 8): expert-major
// dispatch writes each row once per local slot, so it wants more receivers (3 of 8 send: 251 us against 285 with
// 4); the combine's reduce is the slower half (2 of 8 send: 724 us expert-major, 1 of 8 starves the senders).
// Low-latency mode keeps half and half (not measured otherwise). Overridable with -D (scripts/kernel-variant.sh).
#ifndef DISPATCH_SENDERS_PER_8
#define DISPATCH_SENDERS_PER_8 (NCCLEP_MODE == MODE_HT && NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? 3 : 4)
#endif
#ifndef COMBINE_SENDERS_PER_8
#define COMBINE_SENDERS_PER_8 (NCCLEP_MODE == MODE_HT ? 2 : 4)
#endif

// Sending blocks of a grid of G > 1 blocks: at least one, and at least one left to receive.
__device__ __forceinline__ int sending_blocks(int G, int per8) { return min(G - 1, max(1, G * per8 / 8)); }

__device__ __forceinline__ bool is_network(const EpParams& p, int r) { return (p.networkMask >> r) & 1ull; }
__device__ __forceinline__ int network_index(const EpParams& p, int r) { return __popcll(p.networkMask & ((1ull << r) - 1ull)); }
// Peer r's dispatch or combine slice in the staging buffer (out: what this rank sends r; in: what r sent it).
__device__ __forceinline__ char* net_dispatch_slice(const EpParams& p, char* base, int r) { return base + network_index(p, r) * p.netDispatchSlice; }
__device__ __forceinline__ char* net_combine_slice(const EpParams& p, char* base, int r) { return base + p.netCombineBase + network_index(p, r) * p.netCombineSlice; }

// Hierarchical HT dispatch (docs/internode.md §7): a token bound for another node crosses the network once, to the
// rank with this rank's local index there (its rail peer), which writes it into each destination's window as this
// rank would have over NVLink. A rail slice holds: u64 seq << 32 | tokens; i32 rankCounts[G]; i32 expertCounts[G][L];
// then (128-aligned) i32 slots[M][G], the token's slot at each rank of the node or -1; then (128-aligned) one message
// per token, indexed by token, with the slot positions of every expert on the node. Combine stays flat.
__device__ __forceinline__ bool hierarchical(const EpParams& p) { return NCCLEP_MODE == MODE_HT && p.nodeSize > 0; }
// Whether messages and counts from source s are read from the staging buffer rather than this rank's window.
__device__ __forceinline__ bool from_staging(const EpParams& p, int s) { return is_network(p, s) && !hierarchical(p); }
__device__ __forceinline__ int rail_peer(const EpParams& p, int node) { return node * p.nodeSize + p.rank % p.nodeSize; }
__device__ __forceinline__ i64 rail_header_bytes(const EpParams& p) {
    return ((8 + 4 * (i64)p.nodeSize * (1 + p.localExperts)) + 127) / 128 * 128;
}
__device__ __forceinline__ i64 rail_messages_offset(const EpParams& p) {
    return rail_header_bytes(p) + (4 * (i64)p.maxTokens * p.nodeSize + 127) / 128 * 128;
}

#define FLAG_SCALE_BY_WEIGHT 1  // dispatch route: expert-major rows = w * row (Combine backward)
#define FLAG_ROWS_IN_WINDOW 2   // dispatch route, rank-major: the rows are this window's messages (zero-copy receive)
#define FLAG_ROUTE 4            // dispatch route, send half: block 0 routes the call's tile first (ep_route.cuh)
#define FLAG_WEIGHTED 1         // combine route: sum w * y (Combine forward, expert-major)

__device__ __forceinline__ u64 globaltimer() {
    u64 t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

__device__ __forceinline__ u64 ld_acquire_sys(const u64* p) {
    u64 v;
    asm volatile("ld.acquire.sys.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ void st_release_sys(u64* p, u64 v) {
    asm volatile("st.release.sys.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}

// Loads of data a peer wrote: skip L1 so a line cached by an earlier operation is never reused.
__device__ __forceinline__ int4 ld_cv(const int4* p) {
    int4 v;
    asm volatile("ld.global.cv.v4.s32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ int ld_cv(const int* p) {
    int v;
    asm volatile("ld.global.cv.s32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ float ld_cv(const float* p) { return __int_as_float(ld_cv((const int*)p)); }

// Bulk loads of rows a peer wrote, after the flag's acquire and a block barrier: NVLink writes land in L2, so
// skipping L1 (.cg) is enough, and unlike ld_cv these loads are not volatile, so the compiler may keep several
// terms' loads in flight.
__device__ __forceinline__ int4 ld_cg(const int4* p) { return __ldcg(p); }

__device__ __forceinline__ float bf16_lo(u32 w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf16_hi(u32 w) { return __uint_as_float(w & 0xFFFF0000u); }

__device__ __forceinline__ u32 f32_to_bf16(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return ((u >> 16) | 0x40u) & 0xFFFFu;
    u += 0x7FFFu + ((u >> 16) & 1u);
    return u >> 16;
}

__device__ __forceinline__ u32 pack_bf16(float lo, float hi) { return f32_to_bf16(lo) | (f32_to_bf16(hi) << 16); }

// 16 bytes of row elements widened to fp32 (8 for bf16, 4 for fp32).
#if NCCLEP_DTYPE == 0
#define ELEMS_PER_VEC 8
__device__ __forceinline__ void unpack(int4 v, float* f) {
    f[0] = bf16_lo(v.x); f[1] = bf16_hi(v.x); f[2] = bf16_lo(v.y); f[3] = bf16_hi(v.y);
    f[4] = bf16_lo(v.z); f[5] = bf16_hi(v.z); f[6] = bf16_lo(v.w); f[7] = bf16_hi(v.w);
}
__device__ __forceinline__ int4 pack(const float* f) {
    int4 v;
    v.x = (int)pack_bf16(f[0], f[1]); v.y = (int)pack_bf16(f[2], f[3]);
    v.z = (int)pack_bf16(f[4], f[5]); v.w = (int)pack_bf16(f[6], f[7]);
    return v;
}
#else
#define ELEMS_PER_VEC 4
__device__ __forceinline__ void unpack(int4 v, float* f) {
    f[0] = __int_as_float(v.x); f[1] = __int_as_float(v.y); f[2] = __int_as_float(v.z); f[3] = __int_as_float(v.w);
}
__device__ __forceinline__ int4 pack(const float* f) {
    return make_int4(__float_as_int(f[0]), __float_as_int(f[1]), __float_as_int(f[2]), __float_as_int(f[3]));
}
#endif

#define ROW_VECS (NCCLEP_HIDDEN * (NCCLEP_DTYPE == 0 ? 2 : 4) / 16)

__device__ __forceinline__ int4 scale_vec(int4 v, float w) {
    float f[ELEMS_PER_VEC];
    unpack(v, f);
#pragma unroll
    for (int i = 0; i < ELEMS_PER_VEC; i++) f[i] = __fmul_rn(w, f[i]);
    return pack(f);
}

__device__ __forceinline__ const int* active_mask(const EpParams& p) { return (const int*)(p.window + CTRL_ACTIVE_MASK); }
__device__ __forceinline__ u32* ctrl_u32(const EpParams& p, int byteOffset) { return (u32*)(p.window + byteOffset); }

template <typename T> __device__ __forceinline__ T* state_at(const EpParams& p, i64 offset) { return (T*)(p.state + offset); }

// First error wins; the host reads the record without a sync (mapped pinned memory).
__device__ __forceinline__ void record_error(const EpParams& p, int code, int a, int phase, int b, int value) {
    if (atomicCAS(p.errorRecord, 0, -1) == 0) {
        p.errorRecord[1] = a;
        p.errorRecord[2] = phase;
        p.errorRecord[3] = b;
        p.errorRecord[4] = value;
        __threadfence_system();
        atomicExch(p.errorRecord, code);
    }
}

// Whether a survivor masked this rank (its SetActiveRanks wrote s + 1 into this window): then this rank records it and
// stores nothing to any peer (docs/failure-handling.md, "Masked ranks write nothing late"). Every block of a kernel
// that writes to peers calls it first; thread 0 reads, the block learns the answer, so the whole block returns together.
__device__ __forceinline__ bool masked_out(const EpParams& p, int phase, u32 seq) {
    __shared__ int sMaskedBy;
    if (threadIdx.x == 0) {
        const int by = ld_cv((const int*)(p.window + CTRL_MASKED_BY));
        if (by != 0) record_error(p, ERR_MASKED, by - 1, phase, (int)seq, 0);
        sMaskedBy = by;
    }
    __syncthreads();
    return sMaskedBy != 0;
}

// Bounded wait for a peer's flag: true when (flag >> 32) == seq; false (and an error record) on time-out. Equality, not
// >=: under the protocol a flag slot holds this operation's number or the one two before (docs/kernels.md), so anything
// else is a protocol violation, which then shows as a time-out naming the peer instead of rows taken from the wrong
// operation; and equality is indifferent to the 32-bit sequence wrapping around.
__device__ __forceinline__ bool wait_sequence(const EpParams& p, const u64* flag, u32 seq, int peer, int phase, u64* word) {
    u64 start = globaltimer();
    while (true) {
        u64 v = ld_acquire_sys(flag);
        if ((u32)(v >> 32) == seq) { *word = v; return true; }
        if ((i64)(globaltimer() - start) > p.timeoutNs) {
            record_error(p, ERR_TIMEOUT, peer, phase, (int)seq, 0);
            return false;
        }
    }
}

// Warp jobs: lane 0 waits for a peer's flag (bounded), the warp learns the outcome. __syncwarp orders lane 0's
// acquire before every lane's later loads (bar.warp.sync orders memory among the lanes it joins), as __syncthreads
// does for a block.
__device__ __forceinline__ bool warp_wait_sequence(const EpParams& p, const u64* flag, u32 seq, int peer, int phase) {
    int arrived = 0;
    if ((threadIdx.x & 31) == 0) {
        u64 word;
        arrived = wait_sequence(p, flag, seq, peer, phase, &word);
    }
    arrived = __shfl_sync(0xFFFFFFFFu, arrived, 0);
    __syncwarp();
    return arrived != 0;
}

// Warp jobs: after every thread's stores of a chunk, the team's first thread releases its flag. __syncwarp (a team of
// one warp) or the team's named barrier (bar.sync 1 + team, its threads) makes the stores observed by that thread, and
// st.release.sys is cumulative, so a peer that acquires the flag observes them: the block jobs' argument with
// bar.warp.sync or a named barrier in place of bar.sync, which orders memory among the threads it joins the same way.
__device__ __forceinline__ void team_release(const Team& team, int warps, u64* flag, u64 value) {
    if (warps == 1) __syncwarp();
    else asm volatile("barrier.sync %0, %1;" ::"r"(1 + team.index), "r"(32 * warps) : "memory");  // not .aligned: safe if a later change splits a warp
    if (team.thread == 0) st_release_sys(flag, value);
}

// Programmatic dependent launch (NCCLEP_PDL=1, Cuda/DependentLaunch.cs): a grid launched with it may start while the
// previous kernel of its stream still runs. Every kernel calls this first, before any memory access: griddepcontrol.wait
// holds the thread until the previous kernel has completed and its memory is flushed, so "kernel n started" still means
// "kernel n - 1 ended and its memory operations are performed" for everything after it (docs/kernels.md). Launched
// without the attribute, it returns at once. The kernels never trigger their dependents early (launch_dependents).
// griddepcontrol exists from sm_90; older GPUs are never launched with the attribute (DependentLaunch), so nothing to wait for.
__device__ __forceinline__ void wait_for_previous_kernel() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Grid "last block" ticket: returns true in exactly one block, after every block has arrived. As in a
// cooperative grid sync, the barrier orders the block's writes before thread 0's fence (fences are cumulative),
// and the last block fences again before it publishes anything. GPU scope is enough: what the last block publishes
// (the sequence number) is read by this GPU's next kernel, and peers learn of this operation only through flags.
__device__ __forceinline__ bool last_block_arrives(u32* ticket) {
    __shared__ int isLast;
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        isLast = atomicAdd(ticket, 1u) == gridDim.x - 1;
        if (isLast) __threadfence();
    }
    __syncthreads();
    return isLast;
}

// Debugging aid, off unless the kernels are built with NCCLEP_BLOCK_TIMELINE defined (scripts/kernel-variant.sh with
// DEFINE=NCCLEP_BLOCK_TIMELINE, then NCCLEP_KERNEL_SOURCE_DIR): thread 0 of every block of every kernel stores when
// the block started and ended (globaltimer, ns), its SM and its role in a module global, which the GPU test program
// reads after a failed case (tests/NcclEp.GpuTests/BlockTimeline.cs) and the bench prints with --timeline
// (Cuda/KernelBlockTimeline.cs, scripts/gpu-ll-timeline.sh), so a time-out tells a kernel or block that
// started late from a flag that never arrived. Plain stores, no printf: printing changed the timing enough that the
// failures it was meant to catch did not happen (run 30). Slots: update, offsets, then the dispatch and combine of an
// odd and of an even sequence number; a record is {start, end, sm << 32 | seq << 8 | role} (role: 0 both halves,
// 1 send, 2 receive or reduce).
#ifdef NCCLEP_BLOCK_TIMELINE
#define TIMELINE_RANKS 8
#define TIMELINE_SLOTS 6
#define TIMELINE_BLOCKS 256
#define SLOT_UPDATE 0
#define SLOT_OFFSETS 1
#define SLOT_DISPATCH(seq) (2 + 2 * (((seq) - 1) & 1))
#define SLOT_COMBINE(seq) (3 + 2 * (((seq) - 1) & 1))
__device__ u64 ncclep_block_timeline[TIMELINE_RANKS * TIMELINE_SLOTS * TIMELINE_BLOCKS * 3];
__device__ __forceinline__ u64* timeline_record(const EpParams& p, int slot) {
    if (threadIdx.x != 0 || p.rank >= TIMELINE_RANKS || blockIdx.x >= TIMELINE_BLOCKS) return nullptr;
    return ncclep_block_timeline + (((i64)p.rank * TIMELINE_SLOTS + slot) * TIMELINE_BLOCKS + blockIdx.x) * 3;
}
#define TIMELINE_START(slot)                                  \
    {                                                         \
        u64* record = timeline_record(p, (slot));             \
        if (record) record[0] = globaltimer();                \
    }
#define TIMELINE_END(slot, role, seq)                                                                  \
    {                                                                                                  \
        u64* record = timeline_record(p, (slot));                                                      \
        if (record) {                                                                                  \
            u32 sm;                                                                                    \
            asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));                                            \
            record[1] = globaltimer();                                                                 \
            record[2] = ((u64)sm << 32) | (((u64)(seq) & 0xFFFFFFull) << 8) | (u64)(role);             \
        }                                                                                              \
    }
#else
#define TIMELINE_START(slot)
#define TIMELINE_END(slot, role, seq)
#endif

// Message header size (WindowLayout.HeaderBytes): token, 3 reserved, ids[K], weights[K], slot positions[K], rounded
// up to 128 bytes so the row after it starts on a line (WindowLayout.MessageAlign).
#define HEADER_BYTES (((16 + 12 * NCCLEP_TOPK) + 127) / 128 * 128)
#define HEADER_VECS (HEADER_BYTES / 16)

__device__ __forceinline__ int global_thread() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int global_threads() { return gridDim.x * blockDim.x; }

// Index of the bucket holding item g, given bucket starts prefix[0..n] (prefix[n] = total): binary search.
__device__ __forceinline__ int find_bucket(const int* prefix, int n, int g) {
    int lo = 0, hi = n;
    while (hi - lo > 1) {
        const int mid = (lo + hi) >> 1;
        if (prefix[mid] <= g) lo = mid; else hi = mid;
    }
    return lo;
}

// Exclusive scan of values[0..n) into out[0..n] (out[n] = total) by warp 0; the caller syncs after.
__device__ __forceinline__ void warp0_exclusive_scan(const int* values, int* out, int n) {
    if (threadIdx.x >= 32) return;
    const int lane = threadIdx.x;
    int carry = 0;
    for (int base = 0; base < n; base += 32) {
        const int v = base + lane < n ? values[base + lane] : 0;
        int x = v;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1) {
            const int y = __shfl_up_sync(0xFFFFFFFFu, x, d);
            if (lane >= d) x += y;
        }
        if (base + lane < n) out[base + lane] = carry + x - v;
        carry += __shfl_sync(0xFFFFFFFFu, x, 31);
    }
    if (lane == 0) out[n] = carry;
}
