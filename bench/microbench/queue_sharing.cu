// Do two streams of one context share a hardware work queue? The check (as in Cuda/ColocatedStreams.cs): a kernel on
// stream A waits (bounded) for a flag, a second kernel on A sits behind it, and a kernel on stream B, launched after
// both, sets the flag. If A and B share a queue, B's kernel starts only once A's has given up, so A reports a time-out.
// Co-located ranks' kernels wait on each other in the same way (docs/failure-handling.md, "Co-located ranks").
// Two Markdown tables:
//   1. for gap = 0..maxGap streams created between A and B: how long A waited, with and without the kernel behind it;
//   2. four threads each create a stream, then all make their stream's first launch at once (as co-located ranks do
//      after their barrier), or one after another: in how many of `trials` was some pair of the four on one queue.
// Run with several CUDA_DEVICE_MAX_CONNECTIONS by scripts/gpu-colocation-micro.sh:
//   queue_sharing [maxGap] [timeout ms] [trials]
#include "wait_kernels.cuh"
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

static int* g_flags;  // [0] the flag, [1] scratch for the kernel behind the waiter, [2..] first launches
static unsigned long long* g_waited;
static int g_value = 0;

// How long the waiter on `a` waited, in µs, for the setter on `b` (with `behind`: a second kernel queued after it on a).
static double waited_us(cudaStream_t a, cudaStream_t b, bool behind, unsigned long long timeoutNs) {
    const int value = ++g_value;
    waiter<<<1, 1, 0, a>>>(g_flags, value, timeoutNs, g_waited);
    if (behind) setter<<<1, 1, 0, a>>>(g_flags + 1, value);
    setter<<<1, 1, 0, b>>>(g_flags, value);
    CHECK(cudaGetLastError());
    CHECK(cudaStreamSynchronize(a));
    CHECK(cudaStreamSynchronize(b));
    unsigned long long ns = 0;
    CHECK(cudaMemcpy(&ns, g_waited, sizeof(ns), cudaMemcpyDeviceToHost));
    return ns / 1000.0;
}

// Four streams made by four threads; first launches at once (together) or under a lock, one at a time.
static bool four_streams_share(bool together, unsigned long long timeoutNs) {
    cudaStream_t s[4];
    std::atomic<int> created{0};
    std::mutex one_at_a_time;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++) {
        threads.emplace_back([&, i] {
            CHECK(cudaSetDevice(0));
            std::unique_lock<std::mutex> lock(one_at_a_time, std::defer_lock);
            if (!together) lock.lock();
            CHECK(cudaStreamCreateWithFlags(&s[i], cudaStreamNonBlocking));
            if (together) { created++; while (created.load() < 4) { } }
            setter<<<1, 1, 0, s[i]>>>(g_flags + 2 + i, 1);
            CHECK(cudaStreamSynchronize(s[i]));
        });
    }
    for (auto& t : threads) t.join();
    bool shared = false;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) shared |= waited_us(s[i], s[j], true, timeoutNs) >= timeoutNs / 1000.0 * 0.9;
    for (int i = 0; i < 4; i++) CHECK(cudaStreamDestroy(s[i]));
    return shared;
}

int main(int argc, char** argv) {
    const int maxGap = argc > 1 ? std::atoi(argv[1]) : 34;
    const unsigned long long timeoutNs = (argc > 2 ? std::atoll(argv[2]) : 200) * 1000000ull;
    const int trials = argc > 3 ? std::atoi(argv[3]) : 50;
    const char* connections = std::getenv("CUDA_DEVICE_MAX_CONNECTIONS");
    CHECK(cudaSetDevice(0));
    CHECK(cudaMalloc(&g_flags, 8 * sizeof(int)));
    CHECK(cudaMemset(g_flags, 0, 8 * sizeof(int)));
    CHECK(cudaMalloc(&g_waited, sizeof(unsigned long long)));

    // Warm-up: both kernels loaded and run once. Under lazy loading (the CUDA 12+ default) a kernel's first launch
    // waits for the running kernels, which would read as a shared queue in the first row.
    waiter<<<1, 1, 0, 0>>>(g_flags, 0, timeoutNs, g_waited);
    setter<<<1, 1, 0, 0>>>(g_flags, 0);
    CHECK(cudaDeviceSynchronize());
    std::printf("CUDA_DEVICE_MAX_CONNECTIONS=%s; time-out %llu ms\n\n", connections ? connections : "(unset)", timeoutNs / 1000000);
    std::printf("| streams between A and B | waiter alone: A waited µs | shared queue | kernel behind the waiter: A waited µs | shared queue |\n");
    std::printf("| --: | --: | :-- | --: | :-- |\n");
    const double limitUs = timeoutNs / 1000.0 * 0.9;
    for (int gap = 0; gap <= maxGap; gap++) {
        double us[2];
        for (int behind = 0; behind < 2; behind++) {
            cudaStream_t a, b;
            std::vector<cudaStream_t> between(gap);
            CHECK(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking));
            for (auto& s : between) CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
            CHECK(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking));
            us[behind] = waited_us(a, b, behind, timeoutNs);
            for (auto s : between) CHECK(cudaStreamDestroy(s));
            CHECK(cudaStreamDestroy(a));
            CHECK(cudaStreamDestroy(b));
        }
        std::printf("| %d | %.1f | %s | %.1f | %s |\n", gap, us[0], us[0] >= limitUs ? "**yes**" : "no", us[1], us[1] >= limitUs ? "**yes**" : "no");
    }

    std::printf("\n| four threads' first launches | trials | trials with two streams on one queue |\n| :-- | --: | --: |\n");
    for (int together = 1; together >= 0; together--) {
        int shared = 0;
        for (int t = 0; t < trials; t++) shared += four_streams_share(together, timeoutNs);
        std::printf("| %s | %d | %d |\n", together ? "at once" : "one at a time", trials, shared);
    }
    return 0;
}
