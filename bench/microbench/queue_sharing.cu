// Do two streams of one context share a hardware work queue, depending on how many streams were created between
// them? A kernel on stream A waits (bounded) for a flag that a kernel on stream B, launched after it, sets. If A and B
// share a queue, B's kernel starts only once A's has given up, so A reports a time-out. Co-located ranks' kernels
// wait on each other in the same way (docs/failure-handling.md, "Co-located ranks").
// For gap = 0..maxGap streams created between A and B, kept alive or destroyed at once (as a stream per copy was),
// it prints one Markdown row. Run with several CUDA_DEVICE_MAX_CONNECTIONS by scripts/gpu-colocation-micro.sh:
//   queue_sharing [maxGap] [timeout ms]
#include "wait_kernels.cuh"
#include <vector>

int main(int argc, char** argv) {
    const int maxGap = argc > 1 ? std::atoi(argv[1]) : 34;
    const unsigned long long timeoutNs = (argc > 2 ? std::atoll(argv[2]) : 200) * 1000000ull;
    const char* connections = std::getenv("CUDA_DEVICE_MAX_CONNECTIONS");
    CHECK(cudaSetDevice(0));
    int* flag;
    unsigned long long* waited;
    CHECK(cudaMalloc(&flag, sizeof(int)));
    CHECK(cudaMemset(flag, 0, sizeof(int)));
    CHECK(cudaMalloc(&waited, sizeof(unsigned long long)));

    // Warm-up: both kernels loaded and run once. Under lazy loading (the CUDA 12+ default) a kernel's first launch
    // waits for the running kernels, which would read as a shared queue in the first row.
    waiter<<<1, 1, 0, 0>>>(flag, 0, timeoutNs, waited);
    setter<<<1, 1, 0, 0>>>(flag, 0);
    CHECK(cudaDeviceSynchronize());
    std::printf("CUDA_DEVICE_MAX_CONNECTIONS=%s; time-out %llu ms\n\n", connections ? connections : "(unset)", timeoutNs / 1000000);
    std::printf("| streams between A and B | kept alive: A waited µs | shared queue | destroyed at once: A waited µs | shared queue |\n");
    std::printf("| --: | --: | :-- | --: | :-- |\n");
    int value = 0;
    for (int gap = 0; gap <= maxGap; gap++) {
        double waitedUs[2];
        for (int destroyAtOnce = 0; destroyAtOnce < 2; destroyAtOnce++) {
            cudaStream_t a, b;
            std::vector<cudaStream_t> between;
            CHECK(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking));
            for (int i = 0; i < gap; i++) {
                cudaStream_t s;
                CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
                if (destroyAtOnce) CHECK(cudaStreamDestroy(s));
                else between.push_back(s);
            }
            CHECK(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking));
            value++;
            waiter<<<1, 1, 0, a>>>(flag, value, timeoutNs, waited);
            setter<<<1, 1, 0, b>>>(flag, value);
            CHECK(cudaGetLastError());
            CHECK(cudaStreamSynchronize(a));
            CHECK(cudaStreamSynchronize(b));
            unsigned long long ns = 0;
            CHECK(cudaMemcpy(&ns, waited, sizeof(ns), cudaMemcpyDeviceToHost));
            waitedUs[destroyAtOnce] = ns / 1000.0;
            for (cudaStream_t s : between) CHECK(cudaStreamDestroy(s));
            CHECK(cudaStreamDestroy(a));
            CHECK(cudaStreamDestroy(b));
        }
        const double limitUs = timeoutNs / 1000.0 * 0.9;
        std::printf("| %d | %.1f | %s | %.1f | %s |\n", gap, waitedUs[0], waitedUs[0] >= limitUs ? "**yes**" : "no",
                    waitedUs[1], waitedUs[1] >= limitUs ? "**yes**" : "no");
    }
    return 0;
}
