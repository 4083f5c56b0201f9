// High-throughput rows by bulk asynchronous copies (the Tensor Memory Accelerator's cp.async.bulk), built with
// -DNCCLEP_HT_BULK=<sides> (issue 21: HT at link speed from few SMs). Off by default until measured against the
// vector copies (scripts/gpu-ht-few-sms.sh). Sides, a bit mask:
//   1  dispatch send: each message's row, home -> the destination's window (or a network peer's out slice)
//   2  dispatch receive (rows as they are, not scaled): each message's row -> its output row, or expert-major its
//      row of every local slot (loaded once, stored to each)
//   4  combine send (per-slot rows, not per-rank partials): each expert output row -> its home's window
// The vector copies move a row through registers, COPY_UNROLL 16-byte loads per thread in flight. Here one thread of a
// block (the pipe: thread 0) keeps BULK_STAGES pieces of BULK_STAGE_BYTES in flight through shared memory: a piece is
// loaded by the copy engine into a stage (an mbarrier counts its bytes), then stored from the stage to its destination
// as one bulk group, and the stage is loaded again once that store has read it. The rest of the block writes what is
// not a row (message headers, source info, top-k) with ordinary stores.
// Ordering: a chunk's flag is released only after the bulk groups holding its rows are complete (wait_group, which
// makes their writes visible to the pipe thread), then a proxy fence (the rows were written through the async proxy,
// the flag is a generic store), then st.release.sys by the pipe thread; the headers, written by other threads before
// the block barrier that precedes the chunk's rows, are observed by the pipe thread and covered by the release's
// cumulativity, as for the vector copies. Releases lag the stores (BULK_FLAG_LAG pieces), so the pipe never drains at
// a chunk boundary. Received rows are read by the copy engine after the chunk flag's acquire and a proxy fence.
// The pipe's own waits (a load landing, a store completing) are on the copy engine, not on a peer: loads are of this
// GPU's memory and stores complete as the vector copies' do, so they are not bounded by the peer time-out (a fault in
// a copy is a CUDA error); every wait on a peer keeps its bound.
// Needs sm_90 and PTX 8.0 (NVRTC 12 or later).
#pragma once
#include "ep_common.cuh"
#ifndef NCCLEP_BULK_MODEL
#include "ep_bulk_ptx.cuh"
#endif

#ifndef NCCLEP_HT_BULK
#define NCCLEP_HT_BULK 0
#endif
#define BULK_DISPATCH_SEND (NCCLEP_MODE == MODE_HT && (NCCLEP_HT_BULK & 1) != 0)
#define BULK_DISPATCH_RECEIVE (NCCLEP_MODE == MODE_HT && (NCCLEP_HT_BULK & 2) != 0)
#define BULK_COMBINE_SEND (NCCLEP_MODE == MODE_HT && (NCCLEP_HT_BULK & 4) != 0 && !NCCLEP_COMBINE_PER_RANK)
#define BULK_ANY (BULK_DISPATCH_SEND || BULK_DISPATCH_RECEIVE || BULK_COMBINE_SEND)

#if NCCLEP_HT_BULK != 0 && defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ < 900
#error "NCCLEP_HT_BULK needs sm_90 or newer (cp.async.bulk)"
#endif
#if !defined(__CUDACC_VER_MAJOR__) || __CUDACC_VER_MAJOR__ < 12
#error "NCCLEP_HT_BULK needs NVRTC 12 or newer (PTX ISA 8.0: cp.async.bulk)"
#endif
#endif

// Stages of one pipe and their size: BULK_STAGES * BULK_STAGE_BYTES of dynamic shared memory per block, at its start
// (the kernels' own dynamic shared memory follows). The module says how much (ncclep_bulk_shared_bytes), and the host
// adds it to the dispatch and combine launches (Cuda/BulkSharedMemory.cs). A piece is at most a stage; a row is cut
// into pieces.
#ifndef BULK_STAGES
#define BULK_STAGES 8
#endif
#ifndef BULK_STAGE_BYTES
#define BULK_STAGE_BYTES 4096
#endif
// Chunk flags waiting for their rows' stores (a full queue releases its oldest first), and how many pieces stored after
// a chunk's last one the pipe lets go by before it waits for that chunk's stores to complete.
#ifndef BULK_FLAGS
#define BULK_FLAGS 8
#endif
#ifndef BULK_FLAG_LAG
#define BULK_FLAG_LAG 6
#endif
// Rows a block hands its pipe at a time (bulk_batch_put, bulk_batch_copy): the warps look up each row's source and
// destination (loads the pipe would otherwise wait for one after another), the pipe only issues copies.
#ifndef BULK_BATCH
#define BULK_BATCH 64
#endif
// Destinations of one row at most: expert-major receive writes a message's row once per local slot.
#define BULK_FANOUT (NCCLEP_LAYOUT == LAYOUT_EXPERT_MAJOR ? NCCLEP_TOPK : 1)
static_assert(BULK_BATCH >= BULK_FANOUT, "a batch holds at least one message's slots");
static_assert(BULK_STAGE_BYTES % 16 == 0 && BULK_STAGE_BYTES >= 16, "a bulk copy moves a multiple of 16 bytes");
// Bytes of dynamic shared memory the stages take at its start.
#define BULK_DYNAMIC_BYTES (NCCLEP_HT_BULK != 0 ? BULK_STAGES * BULK_STAGE_BYTES : 0)
static_assert(BULK_STAGES >= 2 && BULK_STAGES * BULK_STAGE_BYTES <= 192 * 1024,
              "the stages are at most 192 KiB: a block has 227 KiB of shared memory on sm_90, the kernels' own included");
static_assert(BULK_FLAG_LAG >= 1, "a flag waits for the pieces stored BULK_FLAG_LAG before the newest");

// The pipe's state; only the pipe thread reads or writes it after bulk_setup. Piece i (counted since setup) uses stage
// i % BULK_STAGES, whose mbarrier completes phase (i / BULK_STAGES) & 1 when its load has landed.
struct BulkPipe {
    u64 bars[BULK_STAGES];
    char* dst[BULK_STAGES][BULK_FANOUT];  // where the piece in each stage goes (null: nowhere)
    int fan[BULK_STAGES];                 // destinations used
    int bytes[BULK_STAGES];
    u32 loaded;     // pieces whose load was issued
    u32 stored;     // pieces whose store was issued (one bulk group each)
    u32 completed;  // pieces whose store is known complete
    u32 head, tail; // pending chunk flags: [head, tail) of the ring
    u64* flag[BULK_FLAGS];
    u64 value[BULK_FLAGS];
    u32 mark[BULK_FLAGS];  // pieces that must be complete before the flag is released
};

// A batch of rows for the pipe: entry k is (dst, src); a null dst is skipped.
struct BulkBatch {
    char* dst[BULK_BATCH];
    const char* src[BULK_BATCH];
};

#if NCCLEP_HT_BULK != 0
// The host reads the stages' bytes from this global (absent: no bulk copies, no stages), present only where a kernel
// of this module copies in bulk (a low-latency module of a bulk build asks for nothing).
#if BULK_ANY
extern "C" {
__device__ int ncclep_bulk_shared_bytes = BULK_DYNAMIC_BYTES;
}
#endif
__shared__ BulkPipe ncclep_bulk_pipe;
__shared__ BulkBatch ncclep_bulk_batch;
#ifdef NCCLEP_BULK_MODEL
static int4 ncclep_bulk_dynamic[BULK_DYNAMIC_BYTES / 16];  // the host model's stand-in
#else
extern __shared__ int4 ncclep_bulk_dynamic[];  // int4: 16-byte aligned, as bulk copies need
#endif
__device__ __forceinline__ char* bulk_stage(int s) { return (char*)ncclep_bulk_dynamic + (i64)s * BULK_STAGE_BYTES; }

// bulk_wait_groups with a run-time count (an immediate in the instruction): n clamped to 7, which waits for more, never
// less.
template <bool READ>
__device__ __forceinline__ void bulk_wait_groups(u32 n) {
    if (n >= 7) bulk_wait_groups<READ, 7>();
    else if (n == 6) bulk_wait_groups<READ, 6>();
    else if (n == 5) bulk_wait_groups<READ, 5>();
    else if (n == 4) bulk_wait_groups<READ, 4>();
    else if (n == 3) bulk_wait_groups<READ, 3>();
    else if (n == 2) bulk_wait_groups<READ, 2>();
    else if (n == 1) bulk_wait_groups<READ, 1>();
    else bulk_wait_groups<READ, 0>();
}
#endif

// Every kernel that copies rows in bulk calls it first, before a block barrier (masked_out's): thread 0 initialises
// the stages' mbarriers and the counters, then makes the initialisation visible to the copy engine.
__device__ __forceinline__ void bulk_setup() {
#if NCCLEP_HT_BULK != 0
    if (threadIdx.x != 0) return;
    BulkPipe& pipe = ncclep_bulk_pipe;
    for (int s = 0; s < BULK_STAGES; s++) bulk_barrier_init(&pipe.bars[s]);
    pipe.loaded = pipe.stored = pipe.completed = 0;
    pipe.head = pipe.tail = 0;
    bulk_shared_visible();
#endif
}

#if NCCLEP_HT_BULK != 0
// Releases the queue's oldest flags whose pieces are complete; with `wait`, waits for the oldest's pieces first (the
// queue is full, or the pipe is draining); otherwise waits only once BULK_FLAG_LAG pieces were stored after them.
__device__ __forceinline__ void bulk_release_flags(BulkPipe& pipe, bool wait) {
    while (pipe.head != pipe.tail) {
        const int q = pipe.head % BULK_FLAGS;
        const u32 mark = pipe.mark[q];
        if (pipe.completed < mark) {
            if (pipe.stored < mark) return;  // its last pieces are not even stored yet
            // With BULK_FLAG_LAG pieces stored after its last one, all but the newest BULK_FLAG_LAG groups include it.
            if (pipe.stored - mark >= BULK_FLAG_LAG) {
                bulk_wait_groups<false, BULK_FLAG_LAG>();
                pipe.completed = pipe.stored - BULK_FLAG_LAG;
            } else {
                if (!wait) return;
                bulk_wait_groups<false, 0>();
                pipe.completed = pipe.stored;
            }
            bulk_proxy_fence();  // the rows were written through the async proxy, the flag is a generic store
        }
        bulk_release(pipe.flag[q], pipe.value[q]);
        pipe.head++;
    }
}

// Whether the load of piece i has landed in its stage (mbarrier phase (i / BULK_STAGES) & 1 complete); without WAIT it
// only looks.
template <bool WAIT>
__device__ __forceinline__ bool bulk_landed(BulkPipe& pipe, u32 i) {
    u64* bar = &pipe.bars[i % BULK_STAGES];
    const u32 parity = (i / BULK_STAGES) & 1;
    bool landed;
    do landed = bulk_phase_done(bar, parity);
    while (WAIT && !landed);
    return landed;
}

// Stores the oldest loaded piece once its load has landed: one bulk group from its stage to its destinations. Without
// WAIT, only if it has landed already; returns whether it stored.
template <bool WAIT>
__device__ __forceinline__ bool bulk_store_oldest(BulkPipe& pipe) {
    const u32 i = pipe.stored;
    if (i == pipe.loaded || !bulk_landed<WAIT>(pipe, i)) return false;
    const int s = i % BULK_STAGES;
    for (int f = 0; f < pipe.fan[s]; f++)
        if (pipe.dst[s][f] != nullptr) bulk_store(pipe.dst[s][f], bulk_stage(s), pipe.bytes[s]);
    bulk_commit();
    pipe.stored = i + 1;
    return true;
}
#endif

// Pipe thread: `bytes` (a multiple of 16; every address 16-byte aligned) from `src` to each of the `fan` destinations
// (at most BULK_FANOUT; null ones skipped), as pieces through the stages: each piece is loaded once. Returns once every
// piece's load is issued; the stores follow as loads land (later calls, bulk_drain).
__device__ __forceinline__ void bulk_copy_to(char* const* dst, int fan, const char* src, int bytes) {
#if NCCLEP_HT_BULK != 0
    BulkPipe& pipe = ncclep_bulk_pipe;
    for (int at = 0; at < bytes; at += BULK_STAGE_BYTES) {
        const int n = min(BULK_STAGE_BYTES, bytes - at);
        const u32 i = pipe.loaded;
        const int s = i % BULK_STAGES;
        while (bulk_store_oldest<false>(pipe)) {}  // what has landed goes out now, so its stage is free sooner
        if (i - pipe.stored == BULK_STAGES) bulk_store_oldest<true>(pipe);  // every stage holds a loaded piece
        // The stage's previous piece (i - BULK_STAGES) must have been read by its store (issued: stored > i - BULK_STAGES
        // after the line above); the groups committed after it may still pend.
        if (i >= BULK_STAGES) bulk_wait_groups<true>(pipe.stored - 1 - (i - BULK_STAGES));
        for (int f = 0; f < fan; f++) pipe.dst[s][f] = dst[f] != nullptr ? dst[f] + at : nullptr;
        pipe.fan[s] = fan;
        pipe.bytes[s] = n;
        bulk_load(bulk_stage(s), src + at, n, &pipe.bars[s]);
        pipe.loaded = i + 1;
        bulk_release_flags(pipe, false);
    }
#endif
}

// Pipe thread: `bytes` from `src` to `dst` (bulk_copy_to, one destination).
__device__ __forceinline__ void bulk_copy(char* dst, const char* src, int bytes) { bulk_copy_to(&dst, 1, src, bytes); }

// Any thread: entry k (< BULK_BATCH) of the block's next batch. Between a batch's last put and the pipe's bulk_batch_copy
// there is a block barrier, and another before the next batch's first put (the pipe has read the entries).
__device__ __forceinline__ void bulk_batch_put(int k, char* dst, const char* src) {
#if NCCLEP_HT_BULK != 0
    ncclep_bulk_batch.dst[k] = dst;
    ncclep_bulk_batch.src[k] = src;
#endif
}

// Pipe thread: the batch's first n rows, `bytes` each. A row has `fan` consecutive entries, one source: entry
// k * fan + f is its f-th destination (null: none), and the row is copied once to all of them (bulk_copy_to).
__device__ __forceinline__ void bulk_batch_copy(int n, int bytes, int fan = 1) {
#if NCCLEP_HT_BULK != 0
    for (int k = 0; k < n; k++) {
        char* const* dst = ncclep_bulk_batch.dst + k * fan;
        bool any = false;
        for (int f = 0; f < fan; f++) any |= dst[f] != nullptr;
        if (any) bulk_copy_to(dst, fan, ncclep_bulk_batch.src[k * fan], bytes);
    }
#endif
}

// Pipe thread: releases `flag` (st.release.sys of `value`) once every piece copied so far is stored and complete; the
// block's ordinary stores before the barrier that preceded those pieces are covered too (see the top).
__device__ __forceinline__ void bulk_release_after(u64* flag, u64 value) {
#if NCCLEP_HT_BULK != 0
    BulkPipe& pipe = ncclep_bulk_pipe;
    if (pipe.tail - pipe.head == BULK_FLAGS) {
        while (pipe.stored < pipe.mark[pipe.head % BULK_FLAGS]) bulk_store_oldest<true>(pipe);
        bulk_release_flags(pipe, true);
    }
    const int q = pipe.tail % BULK_FLAGS;
    pipe.flag[q] = flag;
    pipe.value[q] = value;
    pipe.mark[q] = pipe.loaded;
    pipe.tail++;
    bulk_release_flags(pipe, false);
#endif
}

// Pipe thread: rows that a peer wrote (and this thread acquired the flag of) are read next by the copy engine.
__device__ __forceinline__ void bulk_acquired() {
#if NCCLEP_HT_BULK != 0
    bulk_proxy_fence();
#endif
}

// Pipe thread, before it waits for something else (a peer's chunk flag): every loaded piece stored, so no landed row
// sits in a stage for the length of that wait.
__device__ __forceinline__ void bulk_flush() {
#if NCCLEP_HT_BULK != 0
    BulkPipe& pipe = ncclep_bulk_pipe;
    while (pipe.stored < pipe.loaded) bulk_store_oldest<true>(pipe);
#endif
}

// Pipe thread, before the kernel (or the half that copied) ends: every piece stored and complete, every flag released.
// Shared memory goes away with the block, so no store may still be reading it.
__device__ __forceinline__ void bulk_drain() {
#if NCCLEP_HT_BULK != 0
    BulkPipe& pipe = ncclep_bulk_pipe;
    bulk_flush();
    bulk_wait_groups<false, 0>();
    pipe.completed = pipe.stored;
    bulk_proxy_fence();
    bulk_release_flags(pipe, true);
#endif
}
