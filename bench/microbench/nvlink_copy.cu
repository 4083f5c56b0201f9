// NVLink copy rates between two GPUs, both directions at once (as dispatch and combine move rows): the copy engine
// (cudaMemcpyPeerAsync, the bench's ceiling) against copies driven by the multiprocessors, pushed (each GPU stores
// into the peer's memory) or pulled (each GPU loads from the peer's memory), for a range of block counts. It tells
// whether the SM-driven 16-byte copy rate bounds the HT kernels (docs/kernels.md, "Where the time goes").
// Built and run on the GPU machine by scripts/gpu-nvlink-micro.sh:  nvlink_copy [MB per direction] [repetitions]
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    std::fprintf(stderr, "%s failed: %s (%s:%d)\n", #x, cudaGetErrorString(e_), __FILE__, __LINE__); std::exit(1); } } while (0)

constexpr int Threads = 512, Unroll = 4;

// Each warp copies rows of `rowVecs` 16-byte vectors, Unroll vectors per lane loaded before any is stored (the
// pattern of the dispatch and combine senders); `block` of `blocks` takes every blocks-th group of warps.
__device__ void copy_rows(int4* __restrict__ dst, const int4* __restrict__ src, long rows, int rowVecs, int block, int blocks) {
    const int lane = threadIdx.x & 31;
    const long warp = (long)block * (Threads / 32) + (threadIdx.x >> 5), warps = (long)blocks * (Threads / 32);
    for (long r = warp; r < rows; r += warps) {
        const int4* s = src + r * rowVecs;
        int4* d = dst + r * rowVecs;
        for (int v0 = lane; v0 < rowVecs; v0 += 32 * Unroll) {
            int4 x[Unroll];
#pragma unroll
            for (int u = 0; u < Unroll; u++) if (v0 + 32 * u < rowVecs) x[u] = __ldcg(s + v0 + 32 * u);
#pragma unroll
            for (int u = 0; u < Unroll; u++) if (v0 + 32 * u < rowVecs) d[v0 + 32 * u] = x[u];
        }
    }
}

__global__ void __launch_bounds__(Threads) copy_kernel(int4* dst, const int4* src, long rows, int rowVecs) {
    copy_rows(dst, src, rows, rowVecs, blockIdx.x, gridDim.x);
}

// The first `pushBlocks` blocks push rows to the peer while the others copy the same number of rows locally (the
// dispatch's split between sending and receiving blocks).
__global__ void __launch_bounds__(Threads) push_and_local(int4* peerDst, int4* localDst, const int4* src, long rows, int rowVecs, int pushBlocks) {
    if ((int)blockIdx.x < pushBlocks) copy_rows(peerDst, src, rows, rowVecs, blockIdx.x, pushBlocks);
    else copy_rows(localDst, src, rows, rowVecs, blockIdx.x - pushBlocks, gridDim.x - pushBlocks);
}

struct Gpu { int id; cudaStream_t stream; cudaEvent_t start, end; int4* mine; int4* landing; int4* local; };

// Runs `launch(g, peer)` on both GPUs at once, `reps` times; the median of the slower GPU's event time, in µs.
template <class Launch> double time_both(Gpu* gpus, int reps, Launch launch) {
    std::vector<double> times;
    for (int i = 0; i < reps + 2; i++) {
        for (int g = 0; g < 2; g++) { CHECK(cudaSetDevice(gpus[g].id)); CHECK(cudaDeviceSynchronize()); }
        for (int g = 0; g < 2; g++) {
            CHECK(cudaSetDevice(gpus[g].id));
            CHECK(cudaEventRecord(gpus[g].start, gpus[g].stream));
            launch(gpus[g], gpus[1 - g]);
            CHECK(cudaEventRecord(gpus[g].end, gpus[g].stream));
        }
        double slowest = 0;
        for (int g = 0; g < 2; g++) {
            CHECK(cudaSetDevice(gpus[g].id));
            CHECK(cudaEventSynchronize(gpus[g].end));
            float ms = 0;
            CHECK(cudaEventElapsedTime(&ms, gpus[g].start, gpus[g].end));
            slowest = std::max(slowest, ms * 1000.0);
        }
        if (i >= 2) times.push_back(slowest);  // two warm-ups
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

int main(int argc, char** argv) {
    const long mb = argc > 1 ? std::atol(argv[1]) : 58;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 20;
    const int rowVecs = 7168 * 2 / 16;  // one bf16 row of hidden 7168
    const long rows = mb * 1000000 / (rowVecs * 16), bytes = rows * rowVecs * 16;
    int count = 0;
    CHECK(cudaGetDeviceCount(&count));
    if (count < 2) { std::printf("needs 2 GPUs, found %d\n", count); return 1; }
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0));
    Gpu gpus[2];
    for (int g = 0; g < 2; g++) {
        gpus[g].id = g;
        CHECK(cudaSetDevice(g));
        CHECK(cudaDeviceEnablePeerAccess(1 - g, 0));
        CHECK(cudaStreamCreateWithFlags(&gpus[g].stream, cudaStreamNonBlocking));
        CHECK(cudaEventCreate(&gpus[g].start));
        CHECK(cudaEventCreate(&gpus[g].end));
        CHECK(cudaMalloc(&gpus[g].mine, bytes));
        CHECK(cudaMalloc(&gpus[g].landing, bytes));
        CHECK(cudaMalloc(&gpus[g].local, bytes));
        CHECK(cudaMemset(gpus[g].mine, g + 1, bytes));
    }
    std::printf("%s, %d SMs; %ld rows of %d B (%.1f MB) each direction, both GPUs at once; median of %d, slower GPU\n",
                prop.name, prop.multiProcessorCount, rows, rowVecs * 16, bytes / 1e6, reps);
    std::printf("| copy | blocks | µs | GB/s per direction | vs copy engine |\n| :-- | --: | --: | --: | --: |\n");
    const double ce = time_both(gpus, reps, [&](Gpu& g, Gpu& peer) {
        CHECK(cudaMemcpyPeerAsync(peer.landing, peer.id, g.mine, g.id, bytes, g.stream));
    });
    std::printf("| copy engine (cudaMemcpyPeerAsync) | - | %.1f | %.0f | 100 %% |\n", ce, bytes / ce / 1e3);
    const int sms = prop.multiProcessorCount;
    const int grids[] = {sms / 4, sms / 2, 3 * sms / 4, sms, 2 * sms};
    for (int pull = 0; pull < 2; pull++) {
        for (int blocks : grids) {
            const double us = time_both(gpus, reps, [&](Gpu& g, Gpu& peer) {
                if (pull) copy_kernel<<<blocks, Threads, 0, g.stream>>>(g.landing, peer.mine, rows, rowVecs);
                else copy_kernel<<<blocks, Threads, 0, g.stream>>>(peer.landing, g.mine, rows, rowVecs);
                CHECK(cudaGetLastError());
            });
            std::printf("| SM %s | %d | %.1f | %.0f | %.0f %% |\n", pull ? "pull (load from peer)" : "push (store to peer)",
                        blocks, us, bytes / us / 1e3, 100.0 * ce / us);
        }
    }
    for (int blocks : grids) {
        const double us = time_both(gpus, reps, [&](Gpu& g, Gpu&) {
            copy_kernel<<<blocks, Threads, 0, g.stream>>>(g.local, g.mine, rows, rowVecs);
            CHECK(cudaGetLastError());
        });
        std::printf("| SM local (HBM to HBM) | %d | %.1f | %.0f | - |\n", blocks, us, bytes / us / 1e3);
    }
    // Every SM busy, some pushing and the rest copying as many bytes locally (GB/s: the pushed bytes).
    for (int eighths = 2; eighths <= 6; eighths++) {
        const int push = sms * eighths / 8;
        const double us = time_both(gpus, reps, [&](Gpu& g, Gpu& peer) {
            push_and_local<<<sms, Threads, 0, g.stream>>>(peer.landing, g.local, g.mine, rows, rowVecs, push);
            CHECK(cudaGetLastError());
        });
        std::printf("| SM push %d/8 + local copy %d/8 of %d | %d | %.1f | %.0f | %.0f %% |\n", eighths, 8 - eighths, sms, sms, us,
                    bytes / us / 1e3, 100.0 * ce / us);
    }
    return 0;
}
