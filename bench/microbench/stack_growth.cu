// Does launching a kernel that needs more per-thread local memory than the context has wait for the context's
// running kernels? The driver grows the per-thread stack at such a launch, and growing it "may block until all
// preceding tasks are complete" (cuCtxSetLimit). A kernel on stream A waits (bounded) for a flag; then a kernel with
// a large local array is launched on stream C, then the kernel that sets the flag on stream B. If the launch on C
// waits for A's kernel, the flag is set only after A gave up: A reports a time-out. Co-located ranks' kernels wait
// on each other in the same way (docs/failure-handling.md). One Markdown row per step:
//   stack_growth [timeout ms]
#include "wait_kernels.cuh"
#include <chrono>

// A volatile local array stays in local memory: the kernel's local size is about Bytes per thread.
template <int Bytes>
__global__ void hungry(int* out, int index) {
    volatile char scratch[Bytes];
    for (int i = 0; i < Bytes; i += 64) scratch[i] = (char)(i + index);
    if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = scratch[index % Bytes];
}

template <int Bytes> void launch_hungry(cudaStream_t s, int* out) { hungry<Bytes><<<132, 512, 0, s>>>(out, 1); }

template <int Bytes> int local_bytes() {
    cudaFuncAttributes a;
    CHECK(cudaFuncGetAttributes(&a, hungry<Bytes>));
    return (int)a.localSizeBytes;
}

static double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int main(int argc, char** argv) {
    const unsigned long long timeoutNs = (argc > 1 ? std::atoll(argv[1]) : 200) * 1000000ull;
    CHECK(cudaSetDevice(0));
    int *flag, *out;
    unsigned long long* waited;
    CHECK(cudaMalloc(&flag, sizeof(int)));
    CHECK(cudaMemset(flag, 0, sizeof(int)));
    CHECK(cudaMalloc(&out, sizeof(int)));
    CHECK(cudaMalloc(&waited, sizeof(unsigned long long)));
    cudaStream_t a, b, c;
    CHECK(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking));
    CHECK(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking));
    CHECK(cudaStreamCreateWithFlags(&c, cudaStreamNonBlocking));
    // Warm-up: both small kernels loaded and run once (a first launch under lazy loading waits as well).
    waiter<<<1, 1, 0, a>>>(flag, 0, timeoutNs, waited);
    setter<<<1, 1, 0, b>>>(flag, 0);
    CHECK(cudaDeviceSynchronize());

    std::printf("local memory per thread: hungry<4096> %d B, hungry<8192> %d B, hungry<16384> %d B; time-out %llu ms\n\n",
                local_bytes<4096>(), local_bytes<8192>(), local_bytes<16384>(), timeoutNs / 1000000);
    std::printf("| step | stack limit before, B | launch call on C, ms | A waited, ms | A timed out |\n");
    std::printf("| :-- | --: | --: | --: | :-- |\n");
    int value = 0;
    auto run = [&](const char* what, void (*launch)(cudaStream_t, int*)) {
        size_t limit = 0;
        CHECK(cudaDeviceGetLimit(&limit, cudaLimitStackSize));
        value++;
        waiter<<<1, 1, 0, a>>>(flag, value, timeoutNs, waited);
        auto t = std::chrono::steady_clock::now();
        launch(c, out);
        const double launchMs = ms_since(t);
        setter<<<1, 1, 0, b>>>(flag, value);
        CHECK(cudaGetLastError());
        CHECK(cudaDeviceSynchronize());
        unsigned long long ns = 0;
        CHECK(cudaMemcpy(&ns, waited, sizeof(ns), cudaMemcpyDeviceToHost));
        std::printf("| %s | %zu | %.2f | %.3f | %s |\n", what, limit, launchMs, ns / 1e6, ns >= timeoutNs * 9 / 10 ? "**yes**" : "no");
    };
    run("first launch of hungry<4096> (stack grows)", launch_hungry<4096>);
    run("hungry<4096> again", launch_hungry<4096>);
    run("first launch of hungry<8192> (stack grows)", launch_hungry<8192>);
    // What NcclEp does at group creation: raise the limit to the kernels' local size while nothing waits.
    CHECK(cudaDeviceSetLimit(cudaLimitStackSize, (size_t)local_bytes<16384>()));
    run("first launch of hungry<16384> after raising the limit to its local size", launch_hungry<16384>);
    run("hungry<16384> again", launch_hungry<16384>);
    return 0;
}
