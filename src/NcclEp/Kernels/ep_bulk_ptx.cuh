// The PTX of the bulk copies (ep_bulk.cuh): an instruction or two per function, so that the pipe's logic in ep_bulk.cuh
// also runs on the host against a model of the copy engine that completes copies late and in any order
// (tests/NcclEp.Tests/Cuda/BulkPipeHostRunTests.cs, which defines NCCLEP_BULK_MODEL and its own versions of these).
// sm_90, PTX ISA 8.0.
#pragma once
#include "ep_common.cuh"

#if NCCLEP_HT_BULK != 0
__device__ __forceinline__ u32 shared_address(const void* p) { return (u32)__cvta_generic_to_shared(p); }

// An mbarrier that completes a phase when its one arrival (bulk_load's) and the bytes it expects have come.
__device__ __forceinline__ void bulk_barrier_init(u64* bar) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(shared_address(bar)) : "memory");
}

// Orders shared-memory writes of this thread (the barriers' initialisation) before the copy engine's accesses.
__device__ __forceinline__ void bulk_shared_visible() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// Global memory between the generic proxy (ordinary loads and stores, flags) and the async proxy (the copy engine),
// both ways: after bulk stores and before the flag that publishes them; after a flag's acquire and before bulk loads
// of what it published.
__device__ __forceinline__ void bulk_proxy_fence() { asm volatile("fence.proxy.async.global;" ::: "memory"); }

// `bytes` from global `src` into the shared `stage`; `bar`'s current phase completes when they have landed.
__device__ __forceinline__ void bulk_load(void* stage, const char* src, int bytes, u64* bar) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)), "r"(bytes) : "memory");
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                 ::"r"(shared_address(stage)), "l"(src), "r"(bytes), "r"(shared_address(bar)) : "memory");
}

// Whether `bar`'s phase of the given parity has completed (mbarrier.test_wait: looks, does not wait).
__device__ __forceinline__ bool bulk_phase_done(u64* bar, u32 parity) {
    u32 done;
    asm volatile("{\n\t.reg .pred p;\n\tmbarrier.test_wait.parity.shared::cta.b64 p, [%1], %2;\n\tselp.u32 %0, 1, 0, p;\n\t}"
                 : "=r"(done) : "r"(shared_address(bar)), "r"(parity) : "memory");
    return done != 0;
}

// `bytes` from the shared `stage` to global `dst`, in the open bulk group (bulk_commit closes it).
__device__ __forceinline__ void bulk_store(char* dst, const void* stage, int bytes) {
    asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;" ::"l"(dst), "r"(shared_address(stage)), "r"(bytes) : "memory");
}

__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;" ::: "memory"); }

// Waits until at most N of this thread's most recent bulk groups are pending (so every older group is done); READ:
// only until their sources (shared memory) have been read. A group is covered only if N is at most the number of
// groups committed after it.
template <bool READ, int N>
__device__ __forceinline__ void bulk_wait_groups() {
    if (READ) asm volatile("cp.async.bulk.wait_group.read %0;" ::"n"(N) : "memory");
    else asm volatile("cp.async.bulk.wait_group %0;" ::"n"(N) : "memory");
}

// A chunk flag, once its rows are complete and fenced (ep_bulk.cuh).
__device__ __forceinline__ void bulk_release(u64* flag, u64 value) { st_release_sys(flag, value); }
#endif
