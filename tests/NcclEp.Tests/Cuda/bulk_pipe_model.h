// A host model of the copy engine behind ep_bulk.cuh's pipe: the primitives of ep_bulk_ptx.cuh, defined so that bulk
// loads land, and bulk stores read their stage and write their destination, late and in a random order, as far as the
// PTX rules allow. Every rule the pipe relies on is checked where it matters, and a broken one is a violation:
//   - a stage is loaded again only after its last load has landed and every store from it has read it;
//   - a store reads a stage whose load has landed;
//   - copies are 16-byte aligned multiples of 16 bytes;
//   - a flag is released only after every store of the rows it publishes has been written (bulk_model_on_release
//     checks the rows), and after a proxy fence that follows the last wait that completed stores.
// The pipe runs single-threaded here (thread 0), as on the GPU. Used by bulk_pipe_host_run.cpp (BulkPipeHostRunTests).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

struct BulkModelLoad { char* stage; const char* src; int n; u64* bar; };
struct BulkModelStore { char* dst; const char* stage; int n; u64 group; bool read; std::vector<char> data; };

static std::vector<BulkModelLoad> bulk_model_loads;
static std::vector<BulkModelStore> bulk_model_stores;
static u64 bulk_model_groups;              // groups committed
static std::mt19937 bulk_model_rng;
static double bulk_model_p_land = 0.5, bulk_model_p_read = 0.5, bulk_model_p_write = 0.5;
static int bulk_model_violations;
static bool bulk_model_fenced = true;      // a proxy fence since stores were last completed by a wait
static void (*bulk_model_on_release)(u64* flag, u64 value);

// The first broken rule ends the run: what follows it would only repeat it, or wait for a copy that never comes.
static void bulk_model_violation(const char* what) {
    bulk_model_violations++;
    std::printf("violation: %s\n", what);
    std::fflush(stdout);
    std::exit(1);
}

static bool bulk_model_overlaps(const char* a, int an, const char* b, int bn) { return a < b + bn && b < a + an; }

static void bulk_model_check_copy(const void* dst, const void* src, int n) {
    if (n <= 0 || n % 16 != 0 || (uintptr_t)dst % 16 != 0 || (uintptr_t)src % 16 != 0)
        bulk_model_violation("a bulk copy that is not a positive multiple of 16 bytes between 16-byte aligned addresses");
}

static void bulk_model_read(BulkModelStore& s) {
    s.data.assign(s.stage, s.stage + s.n);
    s.read = true;
}

// The copy engine moves on: each pending load may land, each store may read its stage, each read store may write.
static void bulk_model_step() {
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    for (size_t i = 0; i < bulk_model_loads.size();) {
        BulkModelLoad& l = bulk_model_loads[i];
        if (coin(bulk_model_rng) < bulk_model_p_land) {
            std::memcpy(l.stage, l.src, l.n);
            (*l.bar)++;  // the phase completes: the model's mbarrier word counts completed phases
            bulk_model_loads.erase(bulk_model_loads.begin() + i);
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < bulk_model_stores.size();) {
        BulkModelStore& s = bulk_model_stores[i];
        if (!s.read && coin(bulk_model_rng) < bulk_model_p_read) bulk_model_read(s);
        if (s.read && coin(bulk_model_rng) < bulk_model_p_write) {
            std::memcpy(s.dst, s.data.data(), s.n);
            bulk_model_stores.erase(bulk_model_stores.begin() + i);
        } else {
            i++;
        }
    }
}

__device__ __forceinline__ void bulk_barrier_init(u64* bar) { *bar = 0; }
__device__ __forceinline__ void bulk_shared_visible() {}
__device__ __forceinline__ void bulk_proxy_fence() { bulk_model_fenced = true; }

__device__ __forceinline__ void bulk_load(void* stage, const char* src, int bytes, u64* bar) {
    char* at = (char*)stage;
    bulk_model_check_copy(stage, src, bytes);
    for (const BulkModelLoad& l : bulk_model_loads)
        if (bulk_model_overlaps(l.stage, l.n, at, bytes)) bulk_model_violation("a stage loaded again before its last load landed");
    for (const BulkModelStore& s : bulk_model_stores)
        if (!s.read && bulk_model_overlaps(s.stage, s.n, at, bytes)) bulk_model_violation("a stage loaded again before a store from it had read it");
    bulk_model_loads.push_back(BulkModelLoad{at, src, bytes, bar});
    bulk_model_step();
}

__device__ __forceinline__ bool bulk_phase_done(u64* bar, u32 parity) {
    bulk_model_step();
    return (u32)(*bar & 1) != parity;  // the phase of that parity completed: the count moved past it
}

__device__ __forceinline__ void bulk_store(char* dst, const void* stage, int bytes) {
    const char* at = (const char*)stage;
    bulk_model_check_copy(dst, stage, bytes);
    for (const BulkModelLoad& l : bulk_model_loads)
        if (bulk_model_overlaps(l.stage, l.n, at, bytes)) bulk_model_violation("a store from a stage whose load had not landed");
    bulk_model_stores.push_back(BulkModelStore{dst, at, bytes, bulk_model_groups, false, {}});
}

__device__ __forceinline__ void bulk_commit() {
    bulk_model_groups++;
    bulk_model_step();
}

// Every group but the newest N: read (READ) or read and written.
template <bool READ, int N>
__device__ __forceinline__ void bulk_wait_groups() {
    for (size_t i = 0; i < bulk_model_stores.size();) {
        BulkModelStore& s = bulk_model_stores[i];
        if (s.group + N < bulk_model_groups) {
            if (!s.read) bulk_model_read(s);
            if (!READ) {
                std::memcpy(s.dst, s.data.data(), s.n);
                bulk_model_stores.erase(bulk_model_stores.begin() + i);
                bulk_model_fenced = false;
                continue;
            }
        }
        i++;
    }
}

__device__ __forceinline__ void bulk_release(u64* flag, u64 value) {
    if (!bulk_model_fenced) bulk_model_violation("a flag released after a wait for stores without a proxy fence between");
    if (bulk_model_on_release) bulk_model_on_release(flag, value);
    *flag = value;
}
