// Shared by the co-location microbenches (queue_sharing.cu, stack_growth.cu): a checked CUDA call, and a kernel that
// waits (bounded) for a flag that another kernel sets.
#pragma once
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    std::fprintf(stderr, "%s failed: %s (%s:%d)\n", #x, cudaGetErrorString(e_), __FILE__, __LINE__); std::exit(1); } } while (0)

__device__ __forceinline__ unsigned long long global_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// Waits until *flag == expect or timeoutNs has passed; writes how long it waited.
__global__ void waiter(volatile int* flag, int expect, unsigned long long timeoutNs, unsigned long long* waitedNs) {
    const unsigned long long start = global_ns();
    while (*flag != expect && global_ns() - start < timeoutNs) { }
    *waitedNs = global_ns() - start;
}

__global__ void setter(volatile int* flag, int value) { *flag = value; }
